#!/usr/bin/env bash
# What verified transfers (issue #11) cost: ours→ours with verification (the default) and
# with --no-verify on the sender (plain udpcast on the wire), alternating run by run, for 1
# and 3 receivers, on the unshaped lab (CPU-bound: the worst case for any per-byte work)
# and with every link shaped to 1 Gb/s (a room of 1 GbE ports). Prints median transfer
# times and the slowdown. Needs root; outputs on tmpfs.
#
#   bench/verify-cost.sh [SIZE_MB=200] [RUNS=5]
#
# The transfer time is the sender's wall time minus the 2 s it waits after the last
# receiver connected (--min-receivers rule, PROTOCOL.md §3.2).
set -euo pipefail
SIZE_MB=${1:-200}
RUNS=${2:-5}
cd "$(dirname "$0")/.."
cargo build --release -q -p udpcast-cli
TX=$PWD/target/release/udp-sender
RX=$PWD/target/release/udp-receiver
. bench/lab.sh
W=$(mktemp -d -p /dev/shm)
trap 'lab_down; rm -rf "$W"' EXIT
lab_up 4

head -c $((SIZE_MB * 1000000)) /dev/urandom > "$W/in"
want=$(sha256sum < "$W/in")

one_run() { # n_receivers sender-args… → seconds, or FAIL
  local n=$1 i pids=()
  shift
  for i in $(seq 1 "$n"); do
    rm -f "$W/out$i"
    ip netns exec ${P}$i timeout 300 "$RX" --nokbd --file "$W/out$i" </dev/null >/dev/null 2>&1 & pids+=($!)
  done
  sleep 0.3
  local t0 t1
  t0=$(date +%s.%N)
  ip netns exec ${P}0 timeout 300 "$TX" --nokbd --min-receivers "$n" --file "$W/in" "$@" </dev/null >/dev/null 2>&1 || { echo FAIL; wait; return; }
  t1=$(date +%s.%N)
  for p in "${pids[@]}"; do wait "$p" || true; done
  for i in $(seq 1 "$n"); do
    [ "$(sha256sum < "$W/out$i")" = "$want" ] || { echo FAIL; return; }
  done
  echo "$t1 - $t0 - 2" | bc
}

printf '%-9s %-3s %-8s %10s %10s %9s %9s  %s\n' link rx loss verified plain 'MB/s' slowdown 'runs (verified | plain)'
for link in none 1gbit; do
  lab_shape $link
  for n in 1 3; do
    for loss in 0 10; do
      lab_loss $loss
      on="" off=""
      for run in $(seq 1 "$RUNS"); do
        on+="$(one_run "$n") "
        off+="$(one_run "$n" --no-verify) "
      done
      m_on=$(median $on)
      m_off=$(median $off)
      python3 - "$link" "$n" "$loss" "$m_on" "$m_off" "$SIZE_MB" "$on" "$off" <<'PY'
import sys
link, n, loss, on, off, size, runs_on, runs_off = sys.argv[1:]
name = "unshaped" if link == "none" else link
if "FAIL" in (on, off):
    print(f"{name:<9} {n:<3} {int(loss)/10:.0f} %{'':<5} {on:>10} {off:>10} {'-':>9} {'-':>9}  {runs_on}| {runs_off}")
else:
    on, off = float(on), float(off)
    print(f"{name:<9} {n:<3} {int(loss)/10:.0f} %{'':<5} {on:>9.2f}s {off:>9.2f}s {float(size)/on:>9.0f} {100*(on/off-1):>+8.1f}%  {runs_on}| {runs_off}")
PY
    done
  done
done
echo "slowdown = median time verified / median time with --no-verify - 1 (MB/s: verified)"
