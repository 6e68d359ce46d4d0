# Shared by the bench scripts (sourced, not run): a private namespace lab of a bridge and
# hosts ${P}0..${P}N on 10.88.0.0/24, loss toward host 1 or toward every receiver, optional
# link shaping (every link, or one host's), and the median of a list of timings. Needs
# root. Everything is removed on exit.

lab_up() { # number of hosts
  P=ucb$$
  LAB_HOSTS=$1
  ip netns add ${P}sw
  ip -n ${P}sw link add br0 type bridge
  ip -n ${P}sw link set br0 type bridge mcast_snooping 0
  ip -n ${P}sw link set br0 up
  local i h
  for i in $(seq 0 $((LAB_HOSTS - 1))); do
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
}

lab_down() {
  local i
  for i in $(seq 0 $((${LAB_HOSTS:-0} - 1))); do ip netns del ${P}$i 2>/dev/null || true; done
  ip netns del ${P}sw 2>/dev/null || true
}

# Every link at RATE (e.g. 1gbit) in both directions: the host's NIC and the switch port
# toward it, as a room of 1 GbE ports is. "none" removes the shaping.
lab_shape() {
  local i
  for i in $(seq 0 $((LAB_HOSTS - 1))); do
    tc -n ${P}$i qdisc del dev e$i root 2>/dev/null || true
    tc -n ${P}sw qdisc del dev p$i root 2>/dev/null || true
    if [ "$1" != none ]; then
      tc -n ${P}$i qdisc add dev e$i root tbf rate "$1" burst 512kb latency 50ms
      tc -n ${P}sw qdisc add dev p$i root tbf rate "$1" burst 512kb latency 50ms
    fi
  done
}

lab_loss() { # permille toward host 1 (switch port p1), 0 for none
  ip netns exec ${P}sw nft flush ruleset
  if [ "$1" -gt 0 ]; then
    ip netns exec ${P}sw nft add table bridge t
    ip netns exec ${P}sw nft add chain bridge t fw '{ type filter hook forward priority 0; }'
    ip netns exec ${P}sw nft add rule bridge t fw oifname p1 udp dport 9000-9001 numgen random mod 1000 '<' "$1" drop
  fi
}

# One host's link at RATE in both directions (its NIC e<i> and its switch port p<i>), after
# lab_shape: one slow receiver in a room of fast ports. "none" removes that host's shaping.
lab_shape_host() { # host rate
  tc -n ${P}$1 qdisc del dev e$1 root 2>/dev/null || true
  tc -n ${P}sw qdisc del dev p$1 root 2>/dev/null || true
  if [ "$2" != none ]; then
    tc -n ${P}$1 qdisc add dev e$1 root tbf rate "$2" burst 512kb latency 50ms
    tc -n ${P}sw qdisc add dev p$1 root tbf rate "$2" burst 512kb latency 50ms
  fi
}

# Loss toward every receiver: each switch port but the sender's (p0) drops PERMILLE of the
# udpcast datagrams it sends out, independently per port and datagram. 0 for none.
lab_loss_receivers() { # permille
  ip netns exec ${P}sw nft flush ruleset
  if [ "$1" -gt 0 ]; then
    ip netns exec ${P}sw nft add table bridge t
    ip netns exec ${P}sw nft add chain bridge t fw '{ type filter hook forward priority 0; }'
    ip netns exec ${P}sw nft add rule bridge t fw oifname != p0 udp dport 9000-9001 numgen random mod 1000 '<' "$1" drop
  fi
}

median() {
  python3 -c 'import sys,statistics; v=[float(x) for x in sys.argv[1:] if x!="FAIL"]; print(f"{statistics.median(v):.2f}" if v else "FAIL", end="")' "$@"
}
