#!/usr/bin/env bash
# What verified transfers (issue #11) cost: ours→ours with verification (the default) and
# with --no-verify on the sender (plain udpcast on the wire), alternating run by run, for 1
# and 3 receivers, on the unshaped lab (CPU-bound: the worst case for any per-byte work)
# and with every link shaped to 1 Gb/s (a room of 1 GbE ports). Prints median transfer
# times, the slowdown, and the CPU seconds sender and receivers spent (user + system, from
# /usr/bin/time), which other load on the machine disturbs far less than wall time does.
# Needs root; outputs on tmpfs.
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

one_run() { # n_receivers sender-args… → "seconds cpu-seconds", or FAIL
  local n=$1 i pids=()
  shift
  : > "$W/cpu"
  for i in $(seq 1 "$n"); do
    rm -f "$W/out$i"
    ip netns exec ${P}$i timeout 300 /usr/bin/time -a -o "$W/cpu" -f '%U %S' "$RX" --nokbd --file "$W/out$i" </dev/null >/dev/null 2>&1 & pids+=($!)
  done
  sleep 0.3
  local t0 t1
  t0=$(date +%s.%N)
  ip netns exec ${P}0 timeout 300 /usr/bin/time -a -o "$W/cpu" -f '%U %S' "$TX" --nokbd --min-receivers "$n" --file "$W/in" "$@" </dev/null >/dev/null 2>&1 || { echo FAIL; wait; return; }
  t1=$(date +%s.%N)
  for p in "${pids[@]}"; do wait "$p" || true; done
  for i in $(seq 1 "$n"); do
    [ "$(sha256sum < "$W/out$i")" = "$want" ] || { echo FAIL; return; }
  done
  local cpu
  cpu=$(awk '{s += $1 + $2} END {printf "%.3f", s}' "$W/cpu")
  echo "$(echo "$t1 - $t0 - 2" | bc):$cpu"
}

printf '%-9s %-3s %-6s %9s %9s %7s %9s %9s %9s %8s\n' link rx loss verified plain 'MB/s' slowdown 'cpu ver' 'cpu plain' 'cpu +'
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
      python3 - "$link" "$n" "$loss" "$SIZE_MB" "$on" "$off" <<'PY'
import statistics, sys
link, n, loss, size, runs_on, runs_off = sys.argv[1:]
name = "unshaped" if link == "none" else link
def parse(runs):
    v = [r.split(":") for r in runs.split() if r != "FAIL"]
    return [float(t) for t, _ in v], [float(c) for _, c in v], runs.count("FAIL")
t_on, c_on, f_on = parse(runs_on)
t_off, c_off, f_off = parse(runs_off)
loss = f"{int(loss)/10:.0f} %"
if not t_on or not t_off:
    print(f"{name:<9} {n:<3} {loss:<6} FAIL ({f_on} | {f_off} runs failed)")
else:
    on, off = statistics.median(t_on), statistics.median(t_off)
    con, coff = statistics.median(c_on), statistics.median(c_off)
    fails = f"  ({f_on}+{f_off} runs FAILED)" if f_on + f_off else ""
    print(f"{name:<9} {n:<3} {loss:<6} {on:>8.2f}s {off:>8.2f}s {float(size)/on:>7.0f} {100*(on/off-1):>+8.1f}% {con:>8.2f}s {coff:>8.2f}s {100*(con/coff-1):>+7.1f}%{fails}")
PY
    done
  done
done
echo "slowdown = median time verified / median time with --no-verify - 1 (MB/s: verified);"
echo "cpu = median CPU seconds (user + system) of the sender and all receivers of a run"
