#!/usr/bin/env bash
# The demo: sets up this machine (scripts/setup.sh), builds udp-sender and udp-receiver, then
# clones a test disk image from one sender to three receivers at once over multicast, in a
# private network lab on this machine (network namespaces on a bridge, packet loss toward
# one receiver), checks every copy and prints a short summary. Nothing outside the lab is
# touched, and everything is removed at the end, also after a failure or Ctrl-C.
#
#   scripts/demo.sh [--size MB] [--loss PERMILLE] [--seed N] [--no-setup]
#
# Run as root, or as a normal user with sudo: only the lab part runs through sudo.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/demo.sh [OPTIONS]

Builds udpcast-rs and clones a test disk image from one udp-sender to three udp-receivers
over multicast, in a private network lab on this machine (a bridge and five network
namespaces; nothing outside them is touched), with packet loss on one receiver's link.
Checks every copy against the image (SHA-256) and prints a summary. Exit status 0 only if
all three copies are identical to the image.

Options:
  --size MB          size of the test disk image in MiB (default 256); it and the three
                     copies live on a private tmpfs, so about 4 x MB of free memory is needed
  --loss PERMILLE    frames dropped toward receiver r1, in 1/1000 (default 50 = 5 %; 0-999)
  --seed N           seed of the image's content: random blocks mixed with runs of zeros,
                     the same for the same seed and size (default 1)
  --no-setup         skip scripts/setup.sh and the build; use target/release as it is
  -h, --help         this text

Needs root for the network namespaces: as a normal user the lab part re-runs itself with
sudo (setup and build run as you, so target/ stays yours).
EOF
}

die() {
  printf 'demo.sh: %s\n' "$*" >&2
  exit 1
}

HERE=$(cd "$(dirname "$0")/.." && pwd)
SELF=$HERE/scripts/demo.sh

mode=main size=256 loss=50 seed=1 setup=1
sender_bin="" receiver_bin="" dir="" prefix=""
while [ $# -gt 0 ]; do
  case $1 in
    -h | --help) usage; exit 0 ;;
    --size) [ $# -ge 2 ] || die "--size needs a value"; size=$2; shift 2 ;;
    --size=*) size=${1#*=}; shift ;;
    --loss) [ $# -ge 2 ] || die "--loss needs a value"; loss=$2; shift 2 ;;
    --loss=*) loss=${1#*=}; shift ;;
    --seed) [ $# -ge 2 ] || die "--seed needs a value"; seed=$2; shift 2 ;;
    --seed=*) seed=${1#*=}; shift ;;
    --no-setup) setup=0; shift ;;
    # Internal: the part that needs root (--lab-only), and its part inside a private mount
    # namespace (--lab-inner).
    --lab-only) mode=lab; shift ;;
    --lab-inner) mode=inner; shift ;;
    --sender) sender_bin=$2; shift 2 ;;
    --receiver) receiver_bin=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --prefix) prefix=$2; shift 2 ;;
    *) printf 'demo.sh: unknown option %s\n\n' "$1" >&2; usage >&2; exit 1 ;;
  esac
done
case $size in '' | *[!0-9]* | 0*) die "--size wants a whole number of MiB (1 or more), not '$size'" ;; esac
case $loss in '' | *[!0-9]*) die "--loss wants a whole number of permille (0-999), not '$loss'" ;; esac
[ "$loss" -le 999 ] || die "--loss wants a whole number of permille (0-999), not '$loss'"
case $seed in '' | *[!0-9]*) die "--seed wants a whole number, not '$seed'" ;; esac

# A path as the user would type it from the current directory.
short() { case $1 in "$PWD"/*) printf '%s' "${1#"$PWD"/}" ;; *) printf '%s' "$1" ;; esac; }
# Prints a command as it is run.
show() { printf '  $ %s\n' "$*"; }
# The last lines of a log, with udpcast's carriage-return progress lines broken up.
show_log() {
  [ -s "$1" ] || return 0
  printf -- '--- %s (last lines)\n' "$(basename "$1")" >&2
  tr '\r' '\n' <"$1" | tr -d '\a' | grep -v '^$' | tail -n 15 >&2 || true
}

# ---------------------------------------------------------------------------------------
# 1. As the invoking user: set up, build, then the lab part as root.
main() {
  local sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 ||
      die "the network lab needs root and sudo is not installed: run this script as root (for example: su -c $(short "$SELF"))"
    sudo_cmd=(sudo)
  fi
  check_memory
  printf 'udpcast-rs demo: one udp-sender, three udp-receivers, a %s MiB disk image, %s loss toward r1\n' \
    "$size" "$(percent "$loss")"
  if [ "$setup" -eq 1 ]; then
    # Under "sudo scripts/demo.sh" build as the user who ran sudo, so target/ stays theirs.
    local as_user=()
    if [ "$(id -u)" -eq 0 ] && [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
      local home
      home=$(getent passwd "$SUDO_USER" | cut -d: -f6)
      as_user=(sudo -u "$SUDO_USER" -H env "PATH=$home/.cargo/bin:$PATH")
    fi
    "${as_user[@]}" sh -c 'command -v cargo >/dev/null && command -v rustup >/dev/null' ||
      die "cargo and rustup are needed: install Rust with rustup (https://rustup.rs), then run this again"
    local log
    log=$(mktemp "${TMPDIR:-/tmp}/udpcast-demo-build.XXXXXX")
    echo
    show "scripts/setup.sh    (output: $log)"
    if ! (cd "$HERE" && "${as_user[@]}" scripts/setup.sh) >"$log" 2>&1; then
      tail -n 30 "$log" >&2
      rm -f "$log"
      die "scripts/setup.sh failed (above)"
    fi
    show "cargo build --release -p udpcast-cli    (output: $log)"
    if ! (cd "$HERE" && "${as_user[@]}" cargo build --release -p udpcast-cli) >"$log" 2>&1; then
      tail -n 30 "$log" >&2
      rm -f "$log"
      die "the build failed (above)"
    fi
    rm -f "$log"
  fi
  local s=$HERE/target/release/udp-sender r=$HERE/target/release/udp-receiver
  { [ -x "$s" ] && [ -x "$r" ]; } || die "$(short "$s") or $(short "$r") is missing: run without --no-setup"
  echo
  local lab=("$SELF" --lab-only --sender "$s" --receiver "$r" --size "$size" --loss "$loss" --seed "$seed")
  if [ ${#sudo_cmd[@]} -gt 0 ]; then
    show "sudo $(short "$SELF") --lab-only --sender $(short "$s") --receiver $(short "$r")" \
      "--size $size --loss $loss --seed $seed    (the network namespaces need root)"
  fi
  exec "${sudo_cmd[@]}" "${lab[@]}"
}

# The image and its three copies live in memory (tmpfs).
check_memory() {
  local avail need=$((size * 4 + 64))
  avail=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
  [ "$avail" -ge "$need" ] ||
    die "a $size MiB image needs about $need MiB of free memory (the image and three copies on tmpfs), $avail MiB are available: try --size $(((avail - 64) / 4 > 0 ? (avail - 64) / 4 : 1))"
}

percent() { awk -v p="$1" 'BEGIN { printf "%.1f %%", p / 10 }'; }

# ---------------------------------------------------------------------------------------
# 2. As root: the network lab. Namespaces <prefix>-sw (the switch: bridge br0), <prefix>-s
# (the sender) and <prefix>-r1..3 (the receivers), then the transfer in a private mount
# namespace (step 3), then everything is deleted, whatever happened.
lab() {
  [ "$(id -u)" -eq 0 ] || die "--lab-only needs root"
  { [ -x "$sender_bin" ] && [ -x "$receiver_bin" ]; } || die "--lab-only needs --sender and --receiver programs"
  local t
  for t in ip nft unshare mount timeout sha256sum perl awk; do
    command -v "$t" >/dev/null 2>&1 || die "$t is missing: run scripts/setup.sh (without --no-setup)"
  done
  check_memory

  P=udpdemo$$
  W=$(mktemp -d "/tmp/udpcast-demo.$$.XXXXXX")
  trap lab_cleanup EXIT
  trap 'echo "demo.sh: interrupted; the lab is removed" >&2; exit 130' INT
  trap 'exit 143' TERM HUP

  # (In a subshell with -e of its own: "if ! build_lab" would ignore -e inside it.)
  local err=$W.setup.log rc=0
  set +e
  (set -e; build_lab) >"$err" 2>&1
  rc=$?
  set -e
  if [ "$rc" -ne 0 ]; then
    cat "$err" >&2
    die "could not build the network lab (above): network namespaces, veth and bridge devices and nftables are needed"
  fi
  rm -f "$err"
  # In the background, so that a signal to this process interrupts the wait at once (the
  # cleanup then stops the transfer first).
  unshare --mount --propagation private "$SELF" --lab-inner --sender "$sender_bin" \
    --receiver "$receiver_bin" --size "$size" --loss "$loss" --seed "$seed" --dir "$W" \
    --prefix "$P" &
  inner_pid=$!
  wait "$inner_pid" || rc=$?
  inner_pid=""
  exit "$rc"
}

build_lab() {
  set -x
  ip netns add "$P-sw"
  ip -n "$P-sw" link set lo up
  ip -n "$P-sw" link add br0 type bridge
  ip -n "$P-sw" link set br0 type bridge mcast_snooping 0
  ip -n "$P-sw" link set br0 up
  ip netns exec "$P-sw" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  local h n addr
  for h in s:1 r1:11 r2:12 r3:13; do
    n=$P-${h%%:*} addr=10.77.0.${h#*:}
    ip netns add "$n"
    ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    ip netns exec "$n" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
    # The pair is made in the switch and one end moved, so nothing appears in this
    # machine's own network namespace.
    ip -n "$P-sw" link add "p${h%%:*}" type veth peer name eth0 netns "$n"
    ip -n "$P-sw" link set "p${h%%:*}" master br0
    ip -n "$P-sw" link set "p${h%%:*}" up
    ip -n "$n" link set lo up
    ip -n "$n" addr add "$addr/24" brd + dev eth0
    ip -n "$n" link set eth0 up
    ip -n "$n" route add 224.0.0.0/4 dev eth0
  done
  if [ "$loss" -gt 0 ]; then
    # Frames toward r1 vanish in the switch: the sender sees no error, r1 misses data.
    ip netns exec "$P-sw" nft add table bridge demo
    ip netns exec "$P-sw" nft add chain bridge demo fw '{ type filter hook forward priority 0; }'
    ip netns exec "$P-sw" nft add rule bridge demo fw oifname pr1 udp dport 9000-9001 \
      numgen random mod 1000 '<' "$loss" counter drop
  fi
  set +x
}

inner_pid=""
lab_cleanup() {
  local n
  if [ -n "$inner_pid" ]; then
    kill "$inner_pid" 2>/dev/null || true
    wait "$inner_pid" 2>/dev/null || true
  fi
  for n in "$P-s" "$P-r1" "$P-r2" "$P-r3" "$P-sw"; do
    ip netns del "$n" 2>/dev/null || true
  done
  # Normally an empty mount point: its tmpfs lived in the private mount namespace only.
  rmdir "$W" 2>/dev/null || rm -rf "$W"
  rm -f "$W.setup.log"
}

# ---------------------------------------------------------------------------------------
# 3. Inside a private mount namespace: a tmpfs that no other process sees (it disappears
# with this namespace, even if the script is killed), the image, the transfer, the checks.
pids=()
inner() {
  W=$dir P=$prefix
  trap inner_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM HUP
  mount -t tmpfs -o "size=$((size * 4 + 32))m,mode=0700" udpcast-demo "$W"

  local img=$W/disk.img
  printf 'lab: namespaces %s-{sw,s,r1,r2,r3} (bridge br0, 10.77.0.0/24); files on a private tmpfs at %s\n' "$P" "$W"
  make_image "$img" 2>"$W/zeros"
  local want zeros
  want=$(sha256sum <"$img" | cut -d' ' -f1)
  zeros=$(cat "$W/zeros")

  local limit=$((120 + size / 2)) s r i
  s=$(short "$sender_bin") r=$(short "$receiver_bin")
  local rcmd=() st=()
  for i in 1 2 3; do
    rcmd=(ip netns exec "$P-r$i" timeout "$((limit + 10))" "$receiver_bin" --nokbd --file "$W/r$i.img")
    show "ip netns exec $P-r$i timeout $((limit + 10)) $r --nokbd --file $W/r$i.img"
    "${rcmd[@]}" </dev/null >"$W/r$i.log" 2>&1 &
    pids+=($!)
  done
  sleep 0.3
  show "ip netns exec $P-s timeout $limit $s --file $img --min-receivers 3 --nokbd --log $W/sender.log"
  local t0 t1 srx=0
  t0=$EPOCHREALTIME
  ip netns exec "$P-s" timeout "$limit" "$sender_bin" --file "$img" --min-receivers 3 --nokbd \
    --log "$W/sender.log" </dev/null >"$W/sender.err" 2>&1 &
  pids+=($!)
  wait "${pids[3]}" || srx=$?
  t1=$EPOCHREALTIME
  for i in 0 1 2; do
    st[i]=0
    wait "${pids[i]}" || st[i]=$?
  done
  pids=()

  # The transfer time: from the sender's "Starting transfer" to "Transfer complete" (its
  # --log stamps each line), without the 2 s it waits after the third receiver connected.
  local secs wall
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  secs=$(awk '
    function t(s,  f) { split(s, f, ":"); return f[1] * 3600 + f[2] * 60 + f[3] }
    /Starting transfer/ { a = t($1) }
    /Transfer complete/ { b = t($1) }
    END { if (a != "" && b != "") { d = b - a; if (d < 0) d += 86400; printf "%.2f", d } }
  ' "$W/sender.log" 2>/dev/null || true)
  # The sender's last progress line: re-xmits=0005583 ( 10.8%).
  local resent
  resent=$(tr '\r' '\n' <"$W/sender.err" | grep -o 're-xmits=[0-9]* *([ 0-9.]*%)' | tail -n 1 |
    sed 's/re-xmits=0*\([0-9][0-9]*\) *( *\([0-9.]*\)%)/\1 blocks again (\2 % of all blocks sent)/' || true)
  # What the loss rule dropped. With UDP GSO a frame on this virtual link carries up to 44
  # datagrams, so the bytes tell more than the frames.
  local dropped=""
  if [ "$loss" -gt 0 ]; then
    dropped=$(ip netns exec "$P-sw" nft list chain bridge demo fw 2>/dev/null |
      grep -o 'packets [0-9]* bytes [0-9]*' | head -n 1 |
      awk '{ printf "%d frames, %.1f MiB", $2, $4 / 1048576 }' || true)
  fi

  printf '\n%-10s %s MiB (%s bytes), %s %% zeros, seed %s, sha256 %s\n' image "$size" \
    "$((size * 1048576))" "$((zeros * 100 / (size * 1048576)))" "$seed" "${want:0:16}..."
  if [ -n "$secs" ]; then
    printf '%-10s %s s, %s MiB/s (the sender ran %s s: it starts 2 s after the 3rd receiver connects)\n' \
      transfer "$secs" "$(awk -v m="$size" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0 ? m / s : 0) }')" "$wall"
  else
    printf '%-10s the sender ran %s s and did not finish the transfer\n' transfer "$wall"
  fi
  [ -z "$resent" ] || printf '%-10s %s\n' resent "$resent"
  printf '\n%-9s %-36s %-9s %s\n' receiver "loss on its link" verified "exit status"
  local ok=0 v l verified=()
  for i in 1 2 3; do
    v=NO
    if [ -f "$W/r$i.img" ] && [ "$(sha256sum <"$W/r$i.img" | cut -d' ' -f1)" = "$want" ]; then
      v=yes ok=$((ok + 1))
    fi
    verified[i]=$v
    l=none
    if [ "$i" -eq 1 ] && [ "$loss" -gt 0 ]; then
      l="$(percent "$loss")${dropped:+ ($dropped dropped)}"
    fi
    printf '%-9s %-36s %-9s %s\n' "r$i" "$l" "$v" "$(status "${st[i - 1]}" "$((limit + 10))")"
  done
  printf '%-9s %-36s %-9s %s\n' sender "" "" "$(status "$srx" "$limit")"
  echo
  if [ "$ok" -eq 3 ]; then
    echo "OK: all three copies are identical to the image."
    return 0
  fi
  show_log "$W/sender.err"
  show_log "$W/sender.log"
  for i in 1 2 3; do
    [ "${verified[i]}" = yes ] || show_log "$W/r$i.log"
  done
  echo "FAILED: $((3 - ok)) of the three copies differ from the image or are missing." >&2
  return 1
}

status() {
  case $1 in
    0) echo 0 ;;
    124) echo "124 (stopped by timeout after $2 s)" ;;
    *) echo "$1" ;;
  esac
}

# Random blocks from a seeded generator, mixed with runs of zeros (a used disk: files and
# free space), in 4 KiB units. The count of zero bytes goes to stderr.
make_image() {
  perl -e '
    use strict; use warnings;
    my ($mib, $seed) = @ARGV; srand($seed);
    my $M = 2 << 20; my $left = $mib * 1048576; my $zeros = 0;
    my $pool = pack("N*", map { int(rand(4294967296)) } 1 .. $M / 4); $pool .= $pool;
    my $zero = "\0" x (4 << 20);
    binmode STDOUT;
    while ($left > 0) {
      my $len;
      if (rand() < 0.25) {             # a run of zeros, 4 KiB to 4 MiB
        $len = 4096 * (1 + int(rand(1024))); $len = $left if $len > $left;
        print substr($zero, 0, $len); $zeros += $len;
      } else {                         # data, 4 KiB to 2 MiB: two pool windows XORed
        $len = 4096 * (1 + int(rand(512))); $len = $left if $len > $left;
        print substr($pool, int(rand($M)), $len) ^ substr($pool, int(rand($M)), $len);
      }
      $left -= $len;
    }
    print STDERR "$zeros\n";
  ' "$size" "$seed" >"$1"
}

inner_cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  cd /
  umount "$W" 2>/dev/null || true
}

case $mode in
  main) main ;;
  lab) lab ;;
  inner) inner ;;
esac
