#!/usr/bin/env bash
# Smoke test of the Debian package, for CI; run as root:
#
#   scripts/test-deb.sh
#
# Builds the package (scripts/build-deb.sh), installs it with `dpkg -i` over Debian's
# udpcast, and checks the installed files and programs: --version, the man pages (man -w,
# owned by udpcast-rs), the completions and man pages in `dpkg -L`, libudpcast through
# ldconfig and pkg-config, a transfer over a veth link in a private network namespace
# from the installed udp-sender to the installed udp-receiver and udpcast-tiny-receiver
# (outputs compared byte for byte), and `dpkg --purge`.
#
# The machine is not changed. Every dpkg run happens in a private mount namespace
# (unshare --mount) in which /etc, /usr and /var are overlays whose writable layer is a
# tmpfs of that namespace: dpkg removes Debian's udpcast and installs ours there only, and
# the kernel discards all of it when the namespace's last process ends, however the test
# ends (failure, Ctrl-C, kill -9). Debian's /usr/bin/udp-sender, which the interop tests
# compare against, is never touched: the test checks it (checksums, dpkg status) before
# and after.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
say() { printf 'test-deb: %s\n' "$*"; }
fail() { printf 'test-deb: FAILED: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------
# Inside the namespace: $0 --in-namespace DEB WORKDIR
# ---------------------------------------------------------------------------------------
if [ "${1:-}" = --in-namespace ]; then
    deb=$2 work=$3
    mount -t tmpfs -o mode=0700,size=1g udpcast-test-deb "$work"
    for d in etc usr var; do
        mkdir "$work/$d.upper" "$work/$d.work"
        mount -t overlay overlay \
            -o "lowerdir=/$d,upperdir=$work/$d.upper,workdir=$work/$d.work" "/$d"
    done
    say "/etc, /usr, /var are throwaway overlays in this mount namespace"

    status() { dpkg-query -W -f '${db:Status-Status}' "$1" 2>/dev/null || echo not-installed; }
    debian_udpcast=$(status udpcast)
    if [ "$debian_udpcast" = installed ]; then
        say "Debian's udpcast $(dpkg-query -W -f '${Version}' udpcast) is installed: dpkg -i must replace it"
    else
        say "NOTE: Debian's udpcast is not installed here: replacing it is not exercised"
    fi

    say "dpkg -i $(basename "$deb")"
    dpkg -i "$deb"
    [ "$(status udpcast-rs)" = installed ] || fail "udpcast-rs is not installed after dpkg -i"
    [ "$(status udpcast)" != installed ] || fail "Debian's udpcast is still installed"
    [ "$(dpkg -S /usr/bin/udp-sender)" = "udpcast-rs: /usr/bin/udp-sender" ] ||
        fail "/usr/bin/udp-sender does not belong to udpcast-rs"

    for prog in udp-sender udp-receiver udpcast-tiny-receiver; do
        v=$("/usr/bin/$prog" --version 2>&1) || fail "$prog --version failed: $v"
        say "$prog --version: $v"
        page=$(man -w "$prog") || fail "man -w $prog finds no page"
        owner=$(dpkg -S "$page" | cut -d: -f1)
        [ "$owner" = udpcast-rs ] || fail "man -w $prog: $page belongs to '$owner'"
        lines=$(MANWIDTH=80 man -P cat "$prog" 2>/dev/null | wc -l)
        [ "$lines" -gt 10 ] || fail "man $prog renders only $lines lines"
        say "man -w $prog: $page ($lines lines rendered)"
    done

    # Every man page and completion of the tree is in the package.
    listed=$(dpkg -L udpcast-rs)
    expected=""
    for f in doc/man/*.1; do expected="$expected /usr/share/man/man1/$(basename "$f").gz"; done
    for f in completions/bash/*; do
        if [ -f "$f" ]; then expected="$expected /usr/share/bash-completion/completions/${f##*/}"; fi
    done
    for f in completions/zsh/_*; do
        if [ -f "$f" ]; then expected="$expected /usr/share/zsh/vendor-completions/${f##*/}"; fi
    done
    for f in $expected /usr/share/doc/udpcast-rs/copyright /usr/share/doc/udpcast-rs/changelog.Debian.gz \
        /usr/include/udpcast.h /usr/lib/pkgconfig/udpcast.pc /usr/lib/libudpcast.a \
        /usr/lib/libudpcast.so /usr/lib/libudpcast.so.0; do
        grep -qx "$f" <<<"$listed" || fail "dpkg -L udpcast-rs does not list $f"
    done
    say "dpkg -L lists the man pages, completions, docs and library:$(
        grep -E '/man1/.|completions/.' <<<"$listed" | sed 's|.*/\([^/]*/[^/]*\)$| \1|' | tr -d '\n')"
    for f in completions/bash/udp-sender completions/bash/udp-receiver \
        completions/zsh/_udp-sender completions/zsh/_udp-receiver; do
        [ -f "$f" ] || say "WARNING: the tree has no $f yet"
    done

    # libudpcast: ldconfig knows the SONAME; a program built with pkg-config runs with it.
    # Read the whole cache first: with pipefail, grep -q quitting early would make
    # ldconfig die of SIGPIPE and the check fail at random.
    cache=$(ldconfig -p)
    grep -q 'libudpcast\.so\.0 ' <<<"$cache" || fail "ldconfig does not know libudpcast.so.0"
    if command -v pkg-config >/dev/null && command -v cc >/dev/null; then
        printf '#include <stdio.h>\n#include <udpcast.h>\nint main(void) { puts(udpc_version()); return 0; }\n' \
            > "$work/v.c"
        # shellcheck disable=SC2046
        cc -o "$work/v" "$work/v.c" $(pkg-config --cflags --libs udpcast)
        needed=$(readelf -d "$work/v" | sed -n 's/.*(NEEDED).*\[\(libudpcast[^]]*\)\]/\1/p')
        [ "$needed" = libudpcast.so.0 ] || fail "a program linked with -ludpcast needs '$needed'"
        say "cc \$(pkg-config --cflags --libs udpcast): needs $needed, prints $("$work/v")"
    fi

    # Transfers between the installed programs: one veth link, both ends in one new
    # network namespace (multicast loops back to the receiver on the same host). One
    # receiver at a time: two on one host would want the same port.
    head -c $((8 << 20)) /dev/urandom > "$work/input"
    head -c 12345 /dev/urandom >> "$work/input"
    for receiver in udp-receiver udpcast-tiny-receiver; do
        say "transfer of $(stat -c %s "$work/input") bytes: udp-sender -> $receiver"
        # shellcheck disable=SC2016 # expanded by the inner bash
        W=$work R=$receiver unshare --net bash -euo pipefail -c '
            ip link set lo up
            ip link add v0 type veth peer name v1
            ip addr add 10.231.0.1/24 brd + dev v0
            ip link set v1 up
            ip link set v0 up
            ip route add 224.0.0.0/4 dev v0
            timeout 30 "$R" --interface v0 --nokbd --file "$W/output" \
                </dev/null >"$W/rx.log" 2>&1 & rx=$!
            sleep 0.3
            s=0; timeout 30 udp-sender --interface v0 --nokbd --min-receivers 1 \
                --file "$W/input" </dev/null >"$W/tx.log" 2>&1 || s=$?
            r=0; wait $rx || r=$?
            [ $s -eq 0 ] && [ $r -eq 0 ] ||
                { echo "exit statuses: udp-sender $s, $R $r"; exit 1; }
        ' || {
            for log in tx rx; do echo "--- $log.log"; tail -n 5 "$work/$log.log"; done
            fail "the transfer to $receiver failed"
        }
        cmp "$work/input" "$work/output" || fail "$receiver's output differs from the input"
        say "  byte-identical (sha256 $(sha256sum < "$work/output" | cut -c1-16)…); $receiver: $(
            tr '\r' '\n' < "$work/rx.log" | grep -v '^ *$' | tail -n 1)"
        rm -f "$work/output"
    done

    say "dpkg --purge udpcast-rs"
    dpkg --purge udpcast-rs >/dev/null
    [ ! -e /usr/bin/udp-sender ] || fail "/usr/bin/udp-sender is left after the purge"
    cache=$(ldconfig -p)
    ! grep -q libudpcast <<<"$cache" || fail "libudpcast is left in ldconfig's cache"
    exit 0
fi

# ---------------------------------------------------------------------------------------
# Outside: build, run the namespace part, check that the machine did not change.
# ---------------------------------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || fail "run as root (dpkg, mount and network namespaces)"
for tool in unshare mount ip timeout dpkg dpkg-query man cmp sha256sum; do
    command -v "$tool" >/dev/null || fail "needs $tool"
done
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null ||
    fail "the kernel has no overlay filesystem"

start=$SECONDS
tmp=$(mktemp -d "${TMPDIR:-/tmp}/udpcast-test-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/out" "$tmp/ns"

# What the rest of the tests rely on: Debian's programs and dpkg's view of udpcast.
host_state() {
    dpkg-query -W -f '${Package} ${Version} ${db:Status-Status}\n' udpcast 2>&1 || true
    dpkg-query -W -f '${Package} ${Version} ${db:Status-Status}\n' udpcast-rs 2>&1 || true
    sha256sum /usr/bin/udp-sender /usr/bin/udp-receiver 2>&1 || true
}
before=$(host_state)

say "building the package"
deb=$(LINTIAN=${LINTIAN:-no} scripts/build-deb.sh "$tmp/out")
say "built $(basename "$deb") ($(stat -c %s "$deb") bytes) in $((SECONDS - start)) s"

unshare --mount --propagation private -- "$0" --in-namespace "$deb" "$tmp/ns"

after=$(host_state)
[ "$before" = "$after" ] || fail "the machine changed:
before: $before
after:  $after"
say "the machine is unchanged: $(head -n 1 <<<"$after"), /usr/bin/udp-sender $(
    sed -n 's|  /usr/bin/udp-sender$||p' <<<"$after" | cut -c1-16)…"
say "PASSED in $((SECONDS - start)) s"
