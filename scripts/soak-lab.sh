#!/usr/bin/env bash
# The loss matrix of issue #12: every pairing of ours and Debian's udpcast 20120424 (sender
# → receivers), in half duplex, full duplex and async with FEC, at 0, 1, 5, 10 and 20 %
# loss on every link (both directions), two receivers per run. Each run ends as
#   pass     every receiver exit 0 and every copy identical to the input
#   fail     a receiver said it failed (non-zero exit) — acceptable where nothing can
#            repair the loss (async beyond what FEC makes up for), never otherwise
#   CORRUPT  a receiver exit 0 with a copy that differs: the one outcome never allowed
#   HANG     a process still running at the time limit
# Prints a table and exits non-zero on any CORRUPT or HANG (and on a sync "fail" of ours).
# Needs root; outputs on tmpfs.
#
#   scripts/soak-lab.sh [--quick] [--size MB] [--runs N] [--only PAIRING]
#     --quick   ours→ours only, at 0 and 5 %: the slice CI runs
#     --only    one pairing: ours→ours, ours→debian, debian→ours or debian→debian
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=8 RUNS=1 QUICK= ONLY=
while [ $# -gt 0 ]; do
  case $1 in
  --quick) QUICK=1 ;;
  --size) SIZE_MB=$2; shift ;;
  --runs) RUNS=$2; shift ;;
  --only) ONLY=$2; shift ;;
  *) echo "usage: $0 [--quick] [--size MB] [--runs N] [--only PAIRING]" >&2; exit 2 ;;
  esac
  shift
done
[ "$(id -u)" -eq 0 ] || { echo "soak-lab: needs root (network namespaces)" >&2; exit 1; }
cargo build --release -q -p udpcast-cli
OURS_S=$PWD/target/release/udp-sender OURS_R=$PWD/target/release/udp-receiver
DEB_S=/usr/bin/udp-sender DEB_R=/usr/bin/udp-receiver
. bench/lab.sh
W=$(mktemp -d -p /dev/shm)
trap 'lab_down; rm -rf "$W"' EXIT
lab_up 3
head -c $((SIZE_MB * 1000000)) /dev/urandom > "$W/in"
LIMIT=120

set_loss_everywhere() { # permille on every switch port: data and answers are lost
  ip netns exec ${P}sw nft flush ruleset
  [ "$1" -gt 0 ] || return 0
  ip netns exec ${P}sw nft add table bridge t
  ip netns exec ${P}sw nft add chain bridge t fw '{ type filter hook forward priority 0; }'
  ip netns exec ${P}sw nft add rule bridge t fw udp dport 9000-9001 numgen random mod 1000 '<' "$1" drop
}

one_run() { # sender receiver mode → pass | fail | CORRUPT | HANG
  local snd=$1 rcv=$2 mode=$3 i pids=() codes=() tx_args rx_args=(--nokbd)
  case $mode in
  half) tx_args=(--half-duplex --min-receivers 2) ;;
  full) tx_args=(--full-duplex --min-receivers 2) ;;
  async) tx_args=(--async --fec 8x8/128 --max-bitrate 200m --autostart 3)
         rx_args+=(--start-timeout 30 --receive-timeout 10) ;;
  esac
  for i in 1 2; do
    rm -f "$W/out$i"
    ip netns exec ${P}$i timeout $LIMIT "$rcv" "${rx_args[@]}" --file "$W/out$i" </dev/null >/dev/null 2>&1 & pids+=($!)
  done
  sleep 0.3
  ip netns exec ${P}0 timeout $LIMIT "$snd" --nokbd "${tx_args[@]}" --file "$W/in" </dev/null >/dev/null 2>&1 || true
  for p in "${pids[@]}"; do
    local c=0
    wait "$p" || c=$?
    codes+=("$c")
  done
  local verdict=pass
  for i in 1 2; do
    local c=${codes[$((i - 1))]}
    if [ "$c" -eq 124 ]; then verdict=HANG; break; fi
    if [ "$c" -eq 0 ]; then
      cmp -s "$W/in" "$W/out$i" || { verdict=CORRUPT; break; }
    else
      verdict=fail
    fi
  done
  echo $verdict
}

if [ -n "$QUICK" ]; then
  pairings=("ours→ours:$OURS_S:$OURS_R") losses="0 50"
else
  pairings=("ours→ours:$OURS_S:$OURS_R" "ours→debian:$OURS_S:$DEB_R" "debian→ours:$DEB_S:$OURS_R" "debian→debian:$DEB_S:$DEB_R")
  losses="0 10 50 100 200"
fi
printf '%-15s %-6s' pairing mode
for loss in $losses; do printf ' %10s' "$((loss / 10)) %"; done
echo
bad=0
for pair in "${pairings[@]}"; do
  IFS=: read -r name snd rcv <<<"$pair"
  [ -z "$ONLY" ] || [ "$name" = "$ONLY" ] || continue
  for mode in half full async; do
    printf '%-15s %-6s' "$name" "$mode"
    for loss in $losses; do
      set_loss_everywhere "$loss"
      cell=""
      for run in $(seq 1 "$RUNS"); do
        v=$(one_run "$snd" "$rcv" "$mode")
        cell+=${v:0:1}
        case $v in
        CORRUPT | HANG) [ "$name" = debian→debian ] || bad=1 ;;
        fail) [ "$mode" = async ] || [ "${name%%→*}" = debian ] || bad=1 ;;
        esac
      done
      printf ' %10s' "$cell"
    done
    echo
  done
done
echo "cells: one letter per run: p pass, f fail (said so, non-zero), C CORRUPT (exit 0, wrong copy), H HANG"
exit $bad
