#!/usr/bin/env bash
# Throughput of udpcast-rs against Debian's udpcast 20120424, in one private namespace lab
# and one run: Debian→Debian, ours→ours and both mixes, for 1 and 3 receivers, with 0 %
# and 1 % loss toward one receiver, implementations alternating run by run. Prints the
# median transfer time per case and the ratio to Debian→Debian. Needs root.
#
#   bench/interop.sh [SIZE_MB=200] [RUNS=3]
#
# The transfer time is the sender's wall time minus the 2 s both senders wait after the
# last receiver connected (--min-receivers rule, PROTOCOL.md §3.2).
set -euo pipefail
SIZE_MB=${1:-200}
RUNS=${2:-3}
cd "$(dirname "$0")/.."
cargo build --release -q -p udpcast-cli
OURS_S=$PWD/target/release/udp-sender
OURS_R=$PWD/target/release/udp-receiver
DEB_S=/usr/bin/udp-sender
DEB_R=/usr/bin/udp-receiver
P=ucb$$
W=$(mktemp -d)
cleanup() {
  for h in ${P}0 ${P}1 ${P}2 ${P}3 ${P}sw; do ip netns del $h 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT

ip netns add ${P}sw
ip -n ${P}sw link add br0 type bridge
ip -n ${P}sw link set br0 type bridge mcast_snooping 0
ip -n ${P}sw link set br0 up
for i in 0 1 2 3; do
  h=${P}$i
  ip netns add $h
  ip -n ${P}sw link add p$i type veth peer name e$i netns $h
  ip -n ${P}sw link set p$i master br0
  ip -n ${P}sw link set p$i up
  ip -n $h link set lo up
  ip -n $h addr add 10.88.0.$((i + 1))/24 brd + dev e$i
  ip -n $h link set e$i up
  ip -n $h route add 224.0.0.0/4 dev e$i
  ip netns exec $h sysctl -qw net.ipv6.conf.all.disable_ipv6=1
done

head -c $((SIZE_MB * 1000000)) /dev/urandom > "$W/in"
want=$(sha256sum < "$W/in")

set_loss() { # permille toward receiver 1 (port p1)
  ip netns exec ${P}sw nft flush ruleset
  if [ "$1" -gt 0 ]; then
    ip netns exec ${P}sw nft add table bridge t
    ip netns exec ${P}sw nft add chain bridge t fw '{ type filter hook forward priority 0; }'
    ip netns exec ${P}sw nft add rule bridge t fw oifname p1 udp dport 9000-9001 numgen random mod 1000 '<' "$1" drop
  fi
}

one_run() { # sender receiver n_receivers → prints seconds, or FAIL
  local snd=$1 rcv=$2 n=$3 i pids=()
  for i in $(seq 1 "$n"); do
    rm -f "$W/out$i"
    ip netns exec ${P}$i timeout 120 "$rcv" --nokbd --file "$W/out$i" </dev/null >/dev/null 2>&1 & pids+=($!)
  done
  sleep 0.3
  local t0 t1
  t0=$(date +%s.%N)
  ip netns exec ${P}0 timeout 120 "$snd" --nokbd --min-receivers "$n" --file "$W/in" </dev/null >/dev/null 2>&1 || { echo FAIL; wait; return; }
  t1=$(date +%s.%N)
  for p in "${pids[@]}"; do wait "$p" || true; done
  for i in $(seq 1 "$n"); do
    [ "$(sha256sum < "$W/out$i")" = "$want" ] || { echo FAIL; return; }
  done
  echo "$t1 - $t0 - 2" | bc
}

median() { python3 -c 'import sys,statistics; v=[float(x) for x in sys.argv[1:] if x!="FAIL"]; print(f"{statistics.median(v):.2f}" if v else "FAIL", end="")' "$@"; }

printf '%-22s %-4s %-5s %8s %8s %10s %s\n' case rx loss median Mb/s ratio runs
for n in 1 3; do
  for loss in 0 10; do
    set_loss $loss
    declare -A times=()
    pairs=("debian:$DEB_S:$DEB_R" "ours:$OURS_S:$OURS_R" "ours→debian:$OURS_S:$DEB_R" "debian→ours:$DEB_S:$OURS_R")
    for run in $(seq 1 "$RUNS"); do
      for pair in "${pairs[@]}"; do
        IFS=: read -r name snd rcv <<<"$pair"
        times[$name]+="$(one_run "$snd" "$rcv" "$n") "
      done
    done
    base=$(median ${times[debian]})
    for pair in "${pairs[@]}"; do
      name=${pair%%:*}
      m=$(median ${times[$name]})
      rate=$(python3 -c "print(f'{$SIZE_MB*8/$m:.0f}' if '$m'!='FAIL' and $m>0 else '-')" 2>/dev/null || echo -)
      ratio=$(python3 -c "print(f'{$base/$m:.2f}x' if 'FAIL' not in ('$m','$base') and $m>0 else '-')" 2>/dev/null || echo -)
      printf '%-22s %-4s %-5s %8s %8s %10s %s\n' "$name" "$n" "$((loss / 10))%" "$m" "$rate" "$ratio" "${times[$name]}"
    done
    unset times
  done
done
echo "ratio = Debian→Debian median time / this case's median time (above 1: faster than Debian)"
