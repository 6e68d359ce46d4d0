#!/bin/sh
# Installs udpcast-rs under PREFIX, building what is needed first:
#
#   PREFIX/bin/udp-sender, udp-receiver        (target/release, cargo build --release)
#   PREFIX/bin/udpcast-tiny-receiver           (target/tiny/tiny-receiver, static musl)
#   PREFIX/share/man/man1/*.1.gz               (doc/man/*.1, gzipped)
#   PREFIX/share/bash-completion/completions/<prog>   (completions/bash/<prog>)
#   PREFIX/share/zsh/vendor-completions/_<prog>       (completions/zsh/_<prog>)
#   PREFIX/lib/libudpcast.a, PREFIX/include/udpcast.h, PREFIX/lib/pkgconfig/udpcast.pc
#                                              (ffi/install.sh)
#   PREFIX/lib/libudpcast.so.0.1.0, with SONAME libudpcast.so.0, and the symlinks
#   PREFIX/lib/libudpcast.so.0 -> libudpcast.so.0.1.0, libudpcast.so -> libudpcast.so.0
#
# Usage: scripts/install.sh PREFIX               e.g. scripts/install.sh /usr/local
#        DESTDIR=/tmp/stage scripts/install.sh /usr    (staged: files land in
#                                               DESTDIR/usr, but name /usr inside, as in
#                                               udpcast.pc; this is what build-deb.sh does)
# As root through sudo, keep cargo on the PATH: sudo env "PATH=$PATH" scripts/install.sh ...
# Needs: cargo, the rustup target x86_64-unknown-linux-musl and musl-gcc (the tiny
# receiver), gzip. Nothing is stripped: packagers strip (build-deb.sh does).
#
# Every man page and completion that exists is installed; a program without its man page
# (doc/man/<prog>.1) makes the script fail at the end, naming the missing files.
set -eu

if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: [DESTDIR=DIR] $0 PREFIX" >&2
    exit 2
fi
case "$1" in
    /*) ;;
    *) echo "$0: PREFIX must be an absolute path (got '$1')" >&2; exit 2 ;;
esac
prefix=${1%/}
[ -n "$prefix" ] || prefix=/
destdir=${DESTDIR:-}
dest="$destdir$prefix"
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

programs="udp-sender udp-receiver udpcast-tiny-receiver"

# --- build ------------------------------------------------------------------------------
cargo build -q --release -p udpcast-cli -p udpcast-ffi
ffi/build-tiny-receiver.sh >/dev/null

# The shared library with an SONAME, so that programs linked with -ludpcast record
# libudpcast.so.0 and keep working across compatible updates. rustc sets none for a
# cdylib; the link argument is given to the final link of udpcast-ffi only
# (`cargo rustc ... -- ARGS`), in a target directory of its own so that it never
# replaces (and makes cargo rebuild) the target/release/libudpcast.so of plain builds.
ver() { sed -n "s/^#define UDPC_VERSION_$1 \([0-9]*\)$/\1/p" include/udpcast.h; }
major=$(ver MAJOR)
libversion="$major.$(ver MINOR).$(ver PATCH)"
soname="libudpcast.so.$major"
cargo rustc -q -p udpcast-ffi --lib --crate-type cdylib --release --target-dir target/shlib \
    -- -C "link-arg=-Wl,-soname,$soname"

# --- library, header, pkg-config: ffi/install.sh ----------------------------------------
ffi/install.sh "$dest" >/dev/null
# ffi/install.sh writes the directory it installed into as the .pc's prefix: with DESTDIR
# that is the staging directory, not where the files will live.
sed -i "s|^prefix=.*|prefix=$prefix|" "$dest/lib/pkgconfig/udpcast.pc"
# It installs the unversioned library; put the versioned one in its place.
rm -f "$dest/lib/libudpcast.so" "$dest/lib/$soname" "$dest/lib/libudpcast.so.$libversion"
install -m 0644 target/shlib/release/libudpcast.so "$dest/lib/libudpcast.so.$libversion"
ln -s "libudpcast.so.$libversion" "$dest/lib/$soname"
ln -s "$soname" "$dest/lib/libudpcast.so"

# --- programs ---------------------------------------------------------------------------
install -d "$dest/bin"
install -m 0755 target/release/udp-sender "$dest/bin/udp-sender"
install -m 0755 target/release/udp-receiver "$dest/bin/udp-receiver"
install -m 0755 target/tiny/tiny-receiver "$dest/bin/udpcast-tiny-receiver"

# --- manual pages and shell completions: whatever exists --------------------------------
mandir="$dest/share/man/man1"
install -d "$mandir"
for page in doc/man/*.1; do
    [ -f "$page" ] || continue
    name=$(basename "$page")
    gzip -9nc "$page" > "$mandir/$name.gz"
    chmod 0644 "$mandir/$name.gz"
done
for f in completions/bash/*; do
    if [ -f "$f" ]; then
        install -D -m 0644 "$f" "$dest/share/bash-completion/completions/$(basename "$f")"
    fi
done
for f in completions/zsh/_*; do
    if [ -f "$f" ]; then
        install -D -m 0644 "$f" "$dest/share/zsh/vendor-completions/$(basename "$f")"
    fi
done

missing_man=""
missing_completion=""
for prog in $programs; do
    [ -f "doc/man/$prog.1" ] || missing_man="$missing_man doc/man/$prog.1"
    [ -f "completions/bash/$prog" ] || missing_completion="$missing_completion completions/bash/$prog"
    [ -f "completions/zsh/_$prog" ] || missing_completion="$missing_completion completions/zsh/_$prog"
done
if [ -n "$missing_completion" ]; then
    echo "$0: warning: no shell completion in the tree for:$missing_completion" >&2
fi
if [ -n "$missing_man" ]; then
    echo "$0: ERROR: missing man page(s):$missing_man" >&2
    echo "$0: every installed program ($programs) needs its page in doc/man/;" \
        "everything else was installed under $dest" >&2
    exit 1
fi
echo "installed udpcast-rs (udp-sender, udp-receiver, udpcast-tiny-receiver, libudpcast $libversion) under $dest"
