#!/usr/bin/env bash
# What an extension of ours costs against the same transfer without it, ours→ours,
# alternating run by run, for 1 and 3 receivers, on the unshaped lab (CPU-bound: the worst
# case for any per-byte work) and with every link shaped to 1 Gb/s (a room of 1 GbE
# ports). Prints median transfer times, the slowdown, and the CPU seconds sender and
# receivers spent (user + system, from /usr/bin/time), which other load on the machine
# disturbs far less than wall time does. Needs root; input, outputs and key on tmpfs.
#
#   bench/cost.sh verify [SIZE_MB=200] [RUNS=5]   verified transfers (issue #11, the
#                                                 default) against --no-verify
#   bench/cost.sh auth [SIZE_MB=200] [RUNS=5]     --key-file on every program (issue #14)
#                                                 against no key (both verified)
#   bench/cost.sh encrypt [SIZE_MB=200] [RUNS=5]  --key-file and the sender's --encrypt
#                                                 against no key
#
# The transfer time is the sender's wall time minus the 2 s it waits after the last
# receiver connected (--min-receivers rule, PROTOCOL.md §3.2).
set -euo pipefail
WHAT=${1:-}
SIZE_MB=${2:-200}
RUNS=${3:-5}
case $WHAT in
verify | auth | encrypt) ;;
*) sed -n '/^#   bench\/cost.sh/,/^#$/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
cargo build --release -q -p udpcast-cli
TX=$PWD/target/release/udp-sender
RX=$PWD/target/release/udp-receiver
. bench/lab.sh
W=$(mktemp -d -p /dev/shm)
trap 'lab_down; rm -rf "$W"' EXIT
lab_up 4

head -c $((SIZE_MB * 1000000)) /dev/urandom > "$W/in"
head -c 32 /dev/urandom > "$W/key"
# The arguments of the run with the extension (WITH_*) and without (PLAIN_*).
if [ "$WHAT" = verify ]; then
  WITH_TX=() WITH_RX=() PLAIN_TX=(--no-verify) PLAIN_RX=()
  WITH=verified PLAIN=plain
elif [ "$WHAT" = auth ]; then
  WITH_TX=(--key-file "$W/key") WITH_RX=(--key-file "$W/key") PLAIN_TX=() PLAIN_RX=()
  WITH=keyed PLAIN=unkeyed
else
  WITH_TX=(--key-file "$W/key" --encrypt) WITH_RX=(--key-file "$W/key") PLAIN_TX=() PLAIN_RX=()
  WITH=encrypted PLAIN=unkeyed
fi
want=$(sha256sum < "$W/in")

one_run() { # n_receivers with|plain → "seconds:cpu-seconds", or FAIL
  local n=$1 i pids=() tx_args rx_args
  if [ "$2" = with ]; then
    tx_args=("${WITH_TX[@]}") rx_args=("${WITH_RX[@]}")
  else
    tx_args=("${PLAIN_TX[@]}") rx_args=("${PLAIN_RX[@]}")
  fi
  : > "$W/cpu"
  for i in $(seq 1 "$n"); do
    rm -f "$W/out$i"
    ip netns exec ${P}$i timeout 300 /usr/bin/time -a -o "$W/cpu" -f '%U %S' "$RX" --nokbd "${rx_args[@]}" --file "$W/out$i" </dev/null >/dev/null 2>&1 & pids+=($!)
  done
  sleep 0.3
  local t0 t1
  t0=$(date +%s.%N)
  ip netns exec ${P}0 timeout 300 /usr/bin/time -a -o "$W/cpu" -f '%U %S' "$TX" --nokbd --min-receivers "$n" --file "$W/in" "${tx_args[@]}" </dev/null >/dev/null 2>&1 || { echo FAIL; wait; return; }
  t1=$(date +%s.%N)
  for p in "${pids[@]}"; do wait "$p" || true; done
  for i in $(seq 1 "$n"); do
    [ "$(sha256sum < "$W/out$i")" = "$want" ] || { echo FAIL; return; }
  done
  local cpu
  cpu=$(awk '{s += $1 + $2} END {printf "%.3f", s}' "$W/cpu")
  echo "$(echo "$t1 - $t0 - 2" | bc):$cpu"
}

printf '%-9s %-3s %-6s %9s %9s %7s %9s %9s %9s %8s\n' link rx loss "$WITH" "$PLAIN" 'MB/s' slowdown "cpu $WITH" "cpu $PLAIN" 'cpu +'
for link in none 1gbit; do
  lab_shape $link
  for n in 1 3; do
    for loss in 0 10; do
      lab_loss $loss
      on="" off=""
      for run in $(seq 1 "$RUNS"); do
        on+="$(one_run "$n" with) "
        off+="$(one_run "$n" plain) "
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
echo "slowdown = median time $WITH / median time $PLAIN - 1 (MB/s: $WITH);"
echo "cpu = median CPU seconds (user + system) of the sender and all receivers of a run"
