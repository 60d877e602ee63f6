# Shaped test networks made of network namespaces: one "switch" namespace
# holding a bridge, and N host namespaces each joined to it by a veth pair.
# Every address is inside 198.18.0.0/15 (RFC 2544 benchmarking space); no
# traffic leaves the namespaces. Source this file; call netns_cleanup on exit.
#
#   netns_create PREFIX N RATE   hosts PREFIX-h1..hN at 198.18.0.1..N, every
#                                uplink and downlink shaped to RATE (tc syntax, e.g. 20mbit)
#   netns_exec PREFIX I CMD...   run CMD inside host I (a function: for a
#                                background job whose pid you need, call
#                                `ip netns exec PREFIX-hI CMD &` directly)
#   netns_kill_all PREFIX        kill every process inside the host namespaces
#   netns_addr I                 the address of host I
#   netns_tx_bytes PREFIX I      bytes host I has sent on its link
#   netns_cleanup PREFIX         delete every namespace named PREFIX-*

netns_addr() {
  local i=$1
  echo "198.18.$(( i / 250 )).$(( i % 250 + 1 ))"
}

netns_shape() {
  # tbf: a token bucket at RATE. The burst must cover one timer tick at that
  # rate; the limit bounds the queue so TCP sees a link of that speed. 512 KB
  # is ~200 ms at 20 Mbit/s, a bloated but common home-router queue; the
  # swarm measured the same with 128 KB (~50 ms), so it is not a bottleneck.
  local ns=$1 dev=$2 rate=$3
  ip netns exec "$ns" tc qdisc replace dev "$dev" root tbf rate "$rate" burst 64kb limit 512kb
}

netns_create() {
  local prefix=$1 count=$2 rate=$3
  local switch="$prefix-sw"
  ip netns add "$switch"
  ip -n "$switch" link add br0 type bridge
  ip -n "$switch" link set br0 up
  local i host addr
  for (( i = 0; i < count; i++ )); do
    host="$prefix-h$i"
    addr=$(netns_addr "$i")
    ip netns add "$host"
    ip link add "pw$$-$i" type veth peer name "pw$$-$i-s"
    ip link set "pw$$-$i" netns "$host"
    ip link set "pw$$-$i-s" netns "$switch"
    ip -n "$host" link set "pw$$-$i" name eth0
    ip -n "$switch" link set "pw$$-$i-s" name "h$i"
    ip -n "$switch" link set "h$i" master br0
    ip -n "$switch" link set "h$i" up
    ip -n "$host" link set lo up
    ip -n "$host" addr add "$addr/15" dev eth0
    ip -n "$host" link set eth0 up
    netns_shape "$host" eth0 "$rate"       # uplink: what host i sends
    netns_shape "$switch" "h$i" "$rate"    # downlink: what host i receives
  done
}

netns_exec() {
  local prefix=$1 i=$2
  shift 2
  ip netns exec "$prefix-h$i" "$@"
}

netns_tx_bytes() {
  netns_exec "$1" "$2" cat /sys/class/net/eth0/statistics/tx_bytes
}

netns_kill_all() {
  local prefix=$1 ns
  for ns in $(ip netns list | awk '{print $1}' | grep "^$prefix-" || true); do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  done
}

netns_cleanup() {
  local prefix=$1 ns
  for ns in $(ip netns list | awk '{print $1}' | grep "^$prefix-" || true); do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
}
