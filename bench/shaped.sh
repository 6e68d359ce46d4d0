#!/usr/bin/env bash
# The speed benchmark of issue #13: udpcast-rs against Debian's udpcast 20120424 on shaped
# links, in one private namespace lab (bench/lab.sh). Every host NIC and every switch port
# is a tbf at RATE; optionally host 1 (a receiver) sits behind a slower port (--slow-port:
# its NIC and switch port), as a second case set. For each rate × set × receivers × loss
# (loss toward every receiver, on each receiver's switch port) the two implementations,
# sender and receivers alike, run alternately run by run (ours, debian, ours, debian …).
# A run counts only when every process exits 0 within its time limit and every receiver's
# copy is byte-identical to the input (cmp); anything else is a FAIL, never a timing.
# Needs root; input and outputs on a private tmpfs, each output deleted after its run.
#
#   bench/shaped.sh [--size MB=500] [--runs N=3] [--rates 1gbit[,10gbit…]]
#                   [--receivers 1,3,8] [--loss 0,1,5] [--slow-port RATE] [--sets LIST]
#                   [--only ours|debian] [--extra-sender-args "ARGS"] [--out FILE.md]
#                   [--timeout S] [--fixed-wait S] [--no-calibrate] [--no-build]
#
#   --size MB      input size in MB of 10^6 bytes (random bytes)
#   --rates        tc rates (bit, kbit, mbit, gbit, tbit: powers of 1000, as tc reads them)
#   --loss         percent of udpcast datagrams dropped toward each receiver (0.1 % steps)
#   --slow-port R  adds the case set "slow": host 1's NIC and switch port at R (e.g. 100mbit)
#   --sets LIST    uniform, slow or both (default: uniform, plus slow with --slow-port)
#   --extra-sender-args "…"  appended to OUR sender's command line only (e.g. --autorate)
#   --ours-receivers debian  "ours" runs our sender with Debian's receivers (the mixed room:
#                  what a site that upgrades only its server gets); default: ours
#   --out FILE     also writes the tables and the raw runs as markdown to FILE
#   --timeout S    per-process limit (default 60 + size/5 s); reaching it is a FAIL
#   --fixed-wait S subtracted from each wall time (default 2.5, see below)
#   --no-calibrate skips the raw-UDP check of what tbf lets through
#   --no-build     uses target/release as it is (no cargo build)
#
# Time and goodput. The wall time runs from the sender's start to the last receiver's exit.
# It includes two fixed waits both implementations share: the 2 s of quiet after the last
# CONNECT before a --min-receivers sender starts (PROTOCOL.md §3.2), and the receivers'
# default --exit-wait of 0.5 s. A 1 MB transfer takes 2.52–2.53 s for both here, so the
# transfer time is wall − 2.5 s (--fixed-wait) and goodput = size / transfer time, in MB/s
# of 10^6 bytes. Receiver CPU: user + system seconds of each receiver process (wait4's
# rusage, by a small wrapper; its whole life, negotiation included), per GB (10^9 bytes)
# received, mean over the run's receivers, then the median over runs. Medians ignore
# FAILs; a case's FAIL count is shown beside it. The raw runs also show the bytes tbf sent
# on the sender's NIC per input byte (1514/1456 = 1.040 without any retransmission) and
# the datagrams the receivers' tbf ports dropped for a full queue (not the nft loss).
#
# The payload limit of a link. A full udpcast DATA datagram is a 16-byte block header
# (core/src/wire/block.rs, BLOCK_HEADER_LEN) + 1456 payload bytes (DEFAULT_BLOCK_SIZE,
# core/src/wire/mod.rs) = 1472 bytes of UDP payload, + 8 UDP + 20 IPv4 = 1500 (the MTU),
# + 14 Ethernet header = a 1514-byte frame. tbf charges a packet its skb length, which on
# a veth is that frame without preamble, FCS or inter-frame gap (a UDP GSO packet is
# charged the sum of its segments' frames), so
#     limit = rate / 8 × 1456 / 1514   bytes of payload per second
# = 120.21 MB/s at 1gbit, 12.02 MB/s at 100mbit (a real 1 GbE wire adds 4 FCS + 8 preamble
# + 12 gap = 1538 bytes a frame: 118.36 MB/s). A slow-port case's limit is that of the
# slower port, as a synchronous sender goes at its slowest receiver's pace. Ignored: the
# REQACKs and the other control messages on the data path (well under 0.1 % of the bytes)
# and the tbf burst (512 KB at the start of each run at the veth's own speed). The
# calibration (below) sends full-size raw UDP datagrams through the same tbf pair and
# reports what arrives, and how many bytes tbf charged a datagram.
set -euo pipefail
export LC_ALL=C
CMDLINE=$(printf '%q ' "$0" "$@")
CMDLINE=${CMDLINE% }

SIZE_MB=500 RUNS=3 RATES=1gbit RECEIVERS=1,3,8 LOSSES=0,1,5 SLOW='' SETS='' ONLY=''
OURS_RX=ours EXTRA_STR='' OUT='' TMO='' FIXED_WAIT=2.5 CALIBRATE=1 BUILD=1
usage() { sed -n '/^#   bench\/shaped.sh/,/^#   --no-build/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
  --size) SIZE_MB=$2; shift ;;
  --runs) RUNS=$2; shift ;;
  --rates | --rate) RATES=$2; shift ;;
  --receivers) RECEIVERS=$2; shift ;;
  --loss) LOSSES=$2; shift ;;
  --slow-port) SLOW=$2; shift ;;
  --sets) SETS=$2; shift ;;
  --only) ONLY=$2; shift ;;
  --extra-sender-args) EXTRA_STR=$2; shift ;;
  --ours-receivers) OURS_RX=$2; shift ;;
  --out) OUT=$2; shift ;;
  --timeout) TMO=$2; shift ;;
  --fixed-wait) FIXED_WAIT=$2; shift ;;
  --no-calibrate) CALIBRATE= ;;
  --no-build) BUILD= ;;
  -h | --help) usage ;;
  *) echo "shaped: unknown argument $1" >&2; usage ;;
  esac
  shift
done

die() { echo "shaped: $*" >&2; exit 2; }
[[ $SIZE_MB =~ ^[1-9][0-9]*$ ]] || die "--size wants a whole number of MB"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "--runs wants a positive number"
[[ $RECEIVERS =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "--receivers wants e.g. 1,3,8"
[[ $FIXED_WAIT =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--fixed-wait wants seconds"
rate_ok() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?(bit|kbit|mbit|gbit|tbit)$ ]]; }
IFS=, read -ra RATE_LIST <<<"$RATES"
for r in "${RATE_LIST[@]}"; do rate_ok "$r" || die "bad rate $r (e.g. 1gbit, 100mbit)"; done
[ -z "$SLOW" ] || rate_ok "$SLOW" || die "bad --slow-port rate $SLOW"
IFS=, read -ra RX_LIST <<<"$RECEIVERS"
IFS=, read -ra LOSS_LIST <<<"$LOSSES"
PERMILLE=()
for l in "${LOSS_LIST[@]}"; do
  [[ $l =~ ^[0-9]+(\.[0-9])?$ ]] || die "bad loss $l (percent, e.g. 0,1,5 or 0.5)"
  p=$(awk -v l="$l" 'BEGIN { printf "%d", l * 10 + 0.5 }')
  [ "$p" -le 1000 ] || die "loss $l above 100 %"
  PERMILLE+=("$p")
done
[ -n "$SETS" ] || { SETS=uniform; [ -z "$SLOW" ] || SETS=uniform,slow; }
IFS=, read -ra SET_LIST <<<"$SETS"
for s in "${SET_LIST[@]}"; do
  case $s in
  uniform) ;;
  slow) [ -n "$SLOW" ] || die "the slow set needs --slow-port RATE" ;;
  *) die "bad set $s (uniform, slow)" ;;
  esac
done
case $ONLY in
'') IMPLS=(ours debian) ;;
ours | debian) IMPLS=("$ONLY") ;;
*) die "--only wants ours or debian" ;;
esac
read -ra EXTRA <<<"$EXTRA_STR"
case $OURS_RX in ours | debian) ;; *) die "--ours-receivers wants ours or debian" ;; esac
TMO=${TMO:-$((60 + SIZE_MB / 5))}
[[ $TMO =~ ^[1-9][0-9]*$ ]] || die "--timeout wants whole seconds"
MAX_RX=0
for n in "${RX_LIST[@]}"; do [ "$n" -le "$MAX_RX" ] || MAX_RX=$n; done
[ "$MAX_RX" -le 200 ] || die "at most 200 receivers"
[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, tmpfs)"

cd "$(dirname "$0")/.."
[ -z "$BUILD" ] || cargo build --release -q -p udpcast-cli
OURS_S=$PWD/target/release/udp-sender OURS_R=$PWD/target/release/udp-receiver
DEB_S=/usr/bin/udp-sender DEB_R=/usr/bin/udp-receiver
# The interpreter itself, not a pyenv shim, to start the CPU wrapper quickly.
PY=$(python3 -c 'import sys; print(sys.executable)')
for b in "$OURS_S" "$OURS_R" "$DEB_S" "$DEB_R" "$PY"; do
  [ -x "$b" ] || die "missing $b"
done
. bench/lab.sh

# The input, up to MAX_RX outputs at a time, and logs, on a tmpfs of bounded size.
P=ucb$$ # as lab_up names the lab, so that cleanup works before it ran
W=$(mktemp -d /tmp/ucb-shaped.XXXXXX)
MOUNTED=
RUN_PIDS=()
stop_pids() { # pids (each a timeout, which leads its own process group) → none left
  local p alive
  for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 20); do
    alive=''
    for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ -n "$alive" ] || break
    sleep 0.05
  done
  for p in "$@"; do kill -KILL -- "-$p" 2>/dev/null || true; done
  for p in "$@"; do wait "$p" 2>/dev/null || true; done
}
cleanup() {
  stop_pids "${RUN_PIDS[@]}"
  lab_down
  if [ -n "$MOUNTED" ]; then umount "$W" 2>/dev/null || umount -l "$W" || true; fi
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mount -t tmpfs -o "size=$((SIZE_MB * (MAX_RX + 1) + 64))m,mode=0700" ucb-shaped "$W"
MOUNTED=1
lab_up $((MAX_RX + 1))
head -c $((SIZE_MB * 1000000)) /dev/urandom >"$W/in"
RES=$W/results.tsv CAL=$W/calibration.tsv
: >"$RES"
: >"$CAL"

tbf_stat() { # netns dev field → the counter of that device's tbf (0 if none)
  local j
  j=$(tc -n "$1" -s -j qdisc show dev "$2")
  if [[ $j =~ \"$3\":([0-9]+) ]]; then echo "${BASH_REMATCH[1]}"; else echo 0; fi
}
sw_drops() { # receivers → tbf drops summed over their switch ports p1..pn
  local i s=0
  for i in $(seq 1 "$1"); do s=$((s + $(tbf_stat ${P}sw p$i drops))); done
  echo $s
}

# Runs a receiver and writes the user and system CPU seconds it used (wait4's rusage, in
# microseconds: GNU time prints hundredths, a 20 ms step in a small run's s/GB) to FILE.
cat >"$W/cpu.py" <<'PY'
import os, sys
pid = os.fork()
if pid == 0:
    try:
        os.execv(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(f"{ru.ru_utime:.6f} {ru.ru_stime:.6f}\n")
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
PY

# Raw UDP through the shaped path: host 0 sends full-size datagrams (1472 bytes of UDP
# payload, a full DATA datagram's size; by UDP GSO, 44 a call, as our sender does) to host H
# as fast as its socket lets it (the tbf queue holds more than the socket's send buffer, so
# the sender blocks rather than loses) for 3 s; host H counts (with UDP GRO) what arrives
# after its first 0.5 s, past the tbf burst.
cat >"$W/cal.py" <<'PY'
import socket, sys, time
SOL_UDP, UDP_SEGMENT, UDP_GRO, SO_RCVBUFFORCE, DGRAM = 17, 103, 104, 33, 1472
mode = sys.argv[1]
if mode == "rx":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
    try:
        s.setsockopt(SOL_UDP, UDP_GRO, 1)
    except OSError:
        pass
    s.bind(("0.0.0.0", 9100))
    s.settimeout(10)
    print("READY", flush=True)
    buf = bytearray(1 << 16)
    n = 0; first = start = last = None; n0 = 0
    while True:
        try:
            k = s.recv_into(buf)
        except socket.timeout:
            break
        now = time.monotonic()
        n += k // DGRAM
        if k % DGRAM:  # the 1-byte end mark, alone or after coalesced datagrams
            break
        if first is None:
            first = now
        elif start is None and now - first >= 0.5:
            start, n0 = now, n
        last = now
        s.settimeout(2)
    if start is None or last <= start:
        print("0 0")
    else:
        print(f"{(n - n0) / (last - start):.0f} {n}")
else:
    host, secs = sys.argv[2], float(sys.argv[3])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((host, 9100))
    d = bytes(DGRAM)
    try:
        s.setsockopt(SOL_UDP, UDP_SEGMENT, DGRAM)
        d = bytes(DGRAM * 44)
    except OSError:
        pass
    per = len(d) // DGRAM
    end = time.monotonic() + secs
    sent = 0
    while time.monotonic() < end:
        for _ in range(16):
            s.send(d)
        sent += 16 * per
    s.setsockopt(SOL_UDP, UDP_SEGMENT, 0) if per > 1 else None
    for _ in range(5):
        time.sleep(0.1)
        try:
            s.send(b"E")
        except OSError:  # the receiver is gone: port unreachable
            break
    print(sent)
PY
calibrate() { # set host rate
  local set=$1 h=$2 rate=$3 b0 p0 b1 p1 out sent
  ip netns exec ${P}$h timeout 30 "$PY" "$W/cal.py" rx >"$W/cal.rx" 2>&1 &
  local rp=$!
  RUN_PIDS=("$rp")
  for _ in $(seq 100); do grep -q READY "$W/cal.rx" && break; sleep 0.05; done
  b0=$(tbf_stat ${P}0 e0 bytes) p0=$(tbf_stat ${P}0 e0 packets)
  sent=$(ip netns exec ${P}0 timeout 30 "$PY" "$W/cal.py" tx 10.88.0.$((h + 1)) 3) || sent=0
  wait "$rp" || true
  RUN_PIDS=()
  b1=$(tbf_stat ${P}0 e0 bytes) p1=$(tbf_stat ${P}0 e0 packets)
  out=$(tail -n 1 "$W/cal.rx")
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$set" "$rate" "${out%% *}" "$((b1 - b0))" "$((p1 - p0))" "$sent" >>"$CAL"
  python3 - "$set" "$rate" "${out%% *}" "$((b1 - b0))" "$((p1 - p0))" <<'PY' >&2
import sys
set_, rate, pps, b, p = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
u = {"bit": 1, "kbit": 1e3, "mbit": 1e6, "gbit": 1e9, "tbit": 1e12}
num = rate.rstrip("abcdefghijklmnopqrstuvwxyz"); unit = rate[len(num):]
limit = float(num) * u[unit] / 8 * 1456 / 1514 / 1e6
got = pps * 1456 / 1e6
per = f"{b / p:.1f}" if p else "-"
print(f"calibration {set_} {rate}: {got:.2f} MB/s of 1456-byte payloads arrived "
      f"(limit {limit:.2f}, {got / limit:.3f}); tbf charged {per} bytes per 1472-byte datagram")
PY
}

# One transfer; leaves "status secs wall cpu_s_per_gb e0_bytes sw_drops" in RUN_RESULT.
one_run() { # impl receivers
  local impl=$1 n=$2 snd rcv extra=() i k
  if [ "$impl" = ours ]; then
    snd=$OURS_S rcv=$OURS_R extra=("${EXTRA[@]}")
    [ "$OURS_RX" = ours ] || rcv=$DEB_R
  else
    snd=$DEB_S rcv=$DEB_R
  fi
  local -A role=()
  local fail='' why='' t0 t_last='' b0 d0
  b0=$(tbf_stat ${P}0 e0 bytes)
  d0=$(sw_drops "$n")
  RUN_PIDS=()
  for i in $(seq 1 "$n"); do
    rm -f "$W/out$i" "$W/cpu$i"
    ip netns exec "${P}$i" timeout -k 5 "$TMO" "$PY" "$W/cpu.py" "$W/cpu$i" \
      "$rcv" --file "$W/out$i" --nokbd --interface "e$i" --portbase 9000 \
      </dev/null >/dev/null 2>"$W/rlog$i" &
    RUN_PIDS+=($!)
    role[$!]=r$i
  done
  for i in $(seq 1 "$n"); do
    for _ in $(seq 200); do # up to 5 s
      grep -q "UDP receiver for" "$W/rlog$i" && break
      sleep 0.025
    done
    grep -q "UDP receiver for" "$W/rlog$i" || { fail=1; why="receiver $i not listening"; }
  done
  t0=$EPOCHREALTIME
  if [ -z "$fail" ]; then
    ip netns exec ${P}0 timeout -k 5 "$TMO" "$snd" --file "$W/in" --nokbd \
      --min-receivers "$n" --interface e0 --portbase 9000 "${extra[@]}" \
      </dev/null >/dev/null 2>"$W/slog" &
    RUN_PIDS+=($!)
    role[$!]=s
  fi
  local done_pid st who
  while [ ${#role[@]} -gt 0 ]; do
    [ -z "$fail" ] || { for k in "${!role[@]}"; do kill -TERM "$k" 2>/dev/null || true; done; }
    done_pid='' st=0
    wait -n -p done_pid "${!role[@]}" 2>/dev/null || st=$?
    if [ -z "${done_pid:-}" ]; then
      # bash reaped some of them already (wait -n then says "no such job" and names
      # none): forget those that are gone (their copies are still compared below).
      for k in "${!role[@]}"; do kill -0 "$k" 2>/dev/null || unset "role[$k]"; done
      sleep 0.05
      continue
    fi
    who=${role[$done_pid]}
    unset "role[$done_pid]"
    [ "$who" = s ] || t_last=$EPOCHREALTIME
    if [ "$st" -ne 0 ] && [ -z "$fail" ]; then
      fail=1
      case $who in
      s) why="sender exit $st" ;;
      *) why="receiver ${who#r} exit $st" ;;
      esac
      [ "$st" -ne 124 ] && [ "$st" -ne 137 ] || why+=" (time limit ${TMO}s)"
    fi
  done
  RUN_PIDS=()
  local e0 drops cpu=0 c
  e0=$(($(tbf_stat ${P}0 e0 bytes) - b0))
  drops=$(($(sw_drops "$n") - d0))
  if [ -z "$fail" ]; then
    for i in $(seq 1 "$n"); do
      cmp -s "$W/in" "$W/out$i" || { fail=1; why="receiver $i: output differs"; break; }
      c=$(tail -n 1 "$W/cpu$i")
      cpu=$(awk -v a="$cpu" -v c="$c" 'BEGIN { split(c, f, " "); printf "%.3f", a + f[1] + f[2] }')
    done
  fi
  for i in $(seq 1 "$n"); do rm -f "$W/out$i"; done
  if [ -n "$fail" ]; then
    RUN_RESULT="FAIL - - - $e0 $drops"
    {
      echo "  FAIL ($impl, $n receivers): $why"
      for f in "$W/slog" "$W"/rlog*; do
        [ -s "$f" ] || continue
        echo "  ${f##*/}: $(tr '\r' '\n' <"$f" | grep -v '^ *$' | tail -n 2 | tr '\n' '|')"
      done
    } >&2
    rm -f "$W/slog" "$W"/rlog*
    return
  fi
  rm -f "$W/slog" "$W"/rlog*
  RUN_RESULT=$(awk -v t0="$t0" -v t1="$t_last" -v fw="$FIXED_WAIT" -v cpu="$cpu" -v n="$n" \
    -v sz="$SIZE_MB" -v e0="$e0" -v d="$drops" 'BEGIN {
      wall = t1 - t0; secs = wall - fw; if (secs <= 0) secs = 0.001
      printf "ok %.3f %.3f %.3f %d %d", secs, wall, cpu / n / (sz / 1000), e0, d }')
}

CASES=$((${#RATE_LIST[@]} * ${#SET_LIST[@]} * ${#RX_LIST[@]} * ${#LOSS_LIST[@]}))
TOTAL=$((CASES * RUNS * ${#IMPLS[@]}))
echo "shaped: $CASES cases × ${#IMPLS[@]} implementations × $RUNS runs = $TOTAL transfers of $SIZE_MB MB (limit ${TMO}s each)" >&2
START=$SECONDS
done_runs=0
for rate in "${RATE_LIST[@]}"; do
  lab_shape "$rate"
  for set in "${SET_LIST[@]}"; do
    if [ "$set" = slow ]; then lab_shape_host 1 "$SLOW"; fi
    lab_loss_receivers 0
    if [ -n "$CALIBRATE" ]; then
      if [ "$set" = slow ]; then calibrate slow 1 "$SLOW"; else calibrate uniform "$MAX_RX" "$rate"; fi
    fi
    for n in "${RX_LIST[@]}"; do
      for li in "${!LOSS_LIST[@]}"; do
        lab_loss_receivers "${PERMILLE[$li]}"
        for run in $(seq 1 "$RUNS"); do
          for impl in "${IMPLS[@]}"; do
            one_run "$impl" "$n"
            done_runs=$((done_runs + 1))
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rate" "$set" "$n" "${LOSS_LIST[$li]}" \
              "$impl" "$run" "$RUN_RESULT" >>"$RES"
            read -r st secs wall cpu _ <<<"$RUN_RESULT"
            if [ "$st" = ok ]; then
              msg=$(awk -v s="$secs" -v z="$SIZE_MB" -v w="$wall" -v c="$cpu" \
                'BEGIN { printf "%.1f MB/s (wall %.2f s, rx cpu %.2f s/GB)", z / s, w, c }')
            else
              msg=FAIL
            fi
            printf '[%d/%d %ds] %s %s rx=%s loss=%s%% %s run %s: %s\n' "$done_runs" "$TOTAL" \
              $((SECONDS - START)) "$rate" "$set" "$n" "${LOSS_LIST[$li]}" "$impl" "$run" "$msg" >&2
          done
        done
      done
    done
    lab_loss_receivers 0
    if [ "$set" = slow ]; then lab_shape_host 1 "$rate"; fi
  done
done

OURS_RX=$OURS_RX python3 - "$RES" "$CAL" "$SIZE_MB" "$RUNS" "$FIXED_WAIT" "$CMDLINE" "$SLOW" "$EXTRA_STR" \
  "$((SECONDS - START))" "$OUT" <<'PY'
import os, statistics, sys
res, cal, size, runs, fixed, cmdline, slow, extra, elapsed, out = sys.argv[1:]
size = float(size)
U = {"bit": 1, "kbit": 1e3, "mbit": 1e6, "gbit": 1e9, "tbit": 1e12}

def bps(rate):
    num = rate.rstrip("abcdefghijklmnopqrstuvwxyz")
    return float(num) * U[rate[len(num):]]

def limit(rate):  # MB/s of udpcast payload: 1456 bytes per 1514-byte frame
    return bps(rate) / 8 * 1456 / 1514 / 1e6

cases, order = {}, []
for line in open(res):
    rate, set_, n, loss, impl, run, st, secs, wall, cpu, e0, drops = line.split()
    key = (rate, set_, int(n), loss)
    if key not in cases:
        cases[key] = {}
        order.append(key)
    cases[key].setdefault(impl, []).append((st, secs, wall, cpu, int(e0), int(drops), run))

def med(vals):
    return statistics.median(vals) if vals else None

def f(v, fmt):
    return "—" if v is None else format(v, fmt)

def ratio(a, b):
    return a / b if a is not None and b else None

head = ["link", "rx", "loss", "limit MB/s", "ours MB/s", "udpcast MB/s", "ours/limit",
        "udpcast/limit", "ours/udpcast", "rx CPU s/GB ours", "rx CPU s/GB udpcast",
        "CPU ours/udpcast", "FAIL ours", "FAIL udpcast"]
rows, raw = [], []
for key in order:
    rate, set_, n, loss = key
    link = rate if set_ == "uniform" else f"{rate}, host 1 at {slow}"
    lim = limit(rate) if set_ == "uniform" else min(limit(rate), limit(slow))
    g, c, fails = {}, {}, {}
    for impl in ("ours", "debian"):
        rs = cases[key].get(impl, [])
        ok = [r for r in rs if r[0] == "ok"]
        g[impl] = med([size / float(r[1]) for r in ok])
        c[impl] = med([float(r[3]) for r in ok])
        fails[impl] = f"{len(rs) - len(ok)}/{len(rs)}" if rs else "—"
        for r in rs:
            wire = r[4] / (size * 1e6)
            raw.append([link, str(n), loss + " %", impl, r[6],
                        "FAIL" if r[0] != "ok" else f"{size / float(r[1]):.1f}",
                        r[2], r[1], r[3], f"{wire:.3f}", str(r[5])])
    rows.append([link, str(n), loss + " %", f"{lim:.2f}", f(g["ours"], ".1f"),
                 f(g["debian"], ".1f"), f(ratio(g["ours"], lim), ".3f"),
                 f(ratio(g["debian"], lim), ".3f"), f(ratio(g["ours"], g["debian"]), ".2f"),
                 f(c["ours"], ".2f"), f(c["debian"], ".2f"), f(ratio(c["ours"], c["debian"]), ".2f"),
                 fails["ours"], fails["debian"]])

def text_table(head, rows):
    w = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    lines = ["  ".join(h.rjust(w[i]) for i, h in enumerate(head))]
    lines += ["  ".join(c.rjust(w[i]) for i, c in enumerate(r)) for r in rows]
    return "\n".join(lines)

def md_table(head, rows):
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)

notes = [
    f"{size:g} MB input (10^6 bytes), medians of {runs} runs per implementation, alternating; "
    f"goodput = size / (wall − {fixed} s), wall = sender start → last receiver exit.",
    "limit = rate/8 × 1456/1514: a full DATA datagram (16-byte header + 1456 payload) in a "
    "1514-byte frame, which is what tbf charges on a veth.",
    "rx CPU = user+sys seconds per GB received, mean over a run's receivers, median over runs. "
    "FAIL = runs that failed (exit status, time limit or output not identical) / runs.",
    "Runs: sender NIC bytes/input byte = what the sender's tbf sent per input byte (1514/1456 "
    "= 1.040 with no retransmission); tbf drops = datagrams the receivers' ports dropped "
    "for a full queue (the nft loss is not counted there).",
]
if extra:
    notes.append(f"ours ran with extra sender arguments: {extra}")
if os.environ.get("OURS_RX") == "debian":
    notes.append("the 'ours' columns are OUR sender with DEBIAN's receivers (a mixed room)")
cal_rows = []
for line in open(cal):
    set_, rate, pps, b, p, sent = line.split()
    got = float(pps) * 1456 / 1e6
    lim = limit(rate)
    cal_rows.append([set_, rate, f"{lim:.2f}", f"{got:.2f}", f"{got / lim:.3f}",
                     f"{int(b) / int(p):.1f}" if int(p) else "—"])
cal_head = ["set", "port rate", "limit MB/s", "raw UDP MB/s", "raw/limit", "tbf bytes/datagram"]
raw_head = ["link", "rx", "loss", "impl", "run", "MB/s", "wall s", "transfer s",
            "rx CPU s/GB", "sender NIC bytes/input byte", "tbf drops on rx ports"]

print()
print("command: " + cmdline)
print(text_table(head, rows))
for n_ in notes:
    print(n_)
if cal_rows:
    print()
    print("calibration (raw 1472-byte UDP datagrams, host 0 → one receiver, 3 s):")
    print(text_table(cal_head, cal_rows))
print(f"(bench time {int(elapsed)} s)")
if out:
    with open(out, "w") as fh:
        fh.write("# bench/shaped.sh\n\n```\n" + cmdline + "\n```\n\n")
        fh.write(md_table(head, rows) + "\n\n")
        fh.write("\n".join("* " + n_ for n_ in notes) + "\n")
        if cal_rows:
            fh.write("\n## Calibration\n\nRaw 1472-byte UDP datagrams (the size of a full DATA "
                     "datagram), host 0 → one receiver for 3 s, counted after the first 0.5 s.\n\n")
            fh.write(md_table(cal_head, cal_rows) + "\n")
        fh.write("\n## Runs\n\n" + md_table(raw_head, raw) + "\n")
        fh.write(f"\nBench time {int(elapsed)} s.\n")
    print(f"markdown written to {out}")
PY
