#!/usr/bin/env bash
# A simulated cluster on this machine: N "hosts", each a Linux network namespace with its own
# address and (per launched process) its own hostname, joined by a bridge in a "head" namespace
# where mpirun runs. Open MPI jobs then cross hosts over TCP exactly as on a real cluster
# (vader only within a host). Needs root; touches no network outside the namespaces it creates.
#
#   scripts/cluster.sh up N [SLOTS]        # N hosts (1-16) with SLOTS slots each (default 1)
#   scripts/cluster.sh run [-t SECONDS] -- <mpirun arguments>   # e.g. -- -n 6 ./ring
#   scripts/cluster.sh hosts               # the hostfile in use
#   scripts/cluster.sh down                # ends everything running in the namespaces, removes them
#   scripts/cluster.sh check               # exit 0 if namespaces can be created here
#
# Layout: namespace swiftmpi-head owns bridge br0 (10.77.0.1/24); host i (1..N) is namespace
# swiftmpi-h<i> with eth0 = 10.77.0.<i+1>/24, a veth into the bridge. The root namespace gets no
# device, address or route. Loopback is up everywhere (ranks reach their orted's PMIx server on
# 127.0.0.1). mpirun starts each host's orted through an rsh agent that enters the host's
# namespace and a new UTS namespace named after the host: with one shared hostname Open MPI
# would take all hosts for one node (colliding session directories and vader segments).
set -euo pipefail

prefix=swiftmpi
head_ns=$prefix-head
subnet=10.77.0
state=/run/swift-mpi-cluster
hostfile=$state/hostfile
agent=$state/agent

die() { echo "cluster.sh: $*" >&2; exit 1; }
namespaces() { ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$prefix-(head|h[0-9]+)$" || true; }

down() {
    for ns in $(namespaces); do
        # Everything still running in the namespace goes first (its orted, its ranks).
        pids=$(ip netns pids "$ns" 2>/dev/null || true)
        if [ -n "$pids" ]; then kill -9 $pids 2>/dev/null || true; fi
    done
    for ns in $(namespaces); do ip netns delete "$ns" 2>/dev/null || true; done
    rm -rf "$state"
}

check() {
    [ "$(id -u)" -eq 0 ] || return 1
    command -v ip >/dev/null 2>&1 || return 1
    local probe=$prefix-probe-$$
    ip netns add "$probe" 2>/dev/null || return 1
    ip netns delete "$probe"
}

up() {
    local hosts=$1 slots=${2:-1}
    [[ "$hosts" =~ ^[0-9]+$ ]] && [ "$hosts" -ge 1 ] && [ "$hosts" -le 16 ] || die "up: hosts must be 1-16, not '$hosts'"
    [[ "$slots" =~ ^[0-9]+$ ]] && [ "$slots" -ge 1 ] && [ "$slots" -le 64 ] || die "up: slots must be 1-64, not '$slots'"
    [ "$(id -u)" -eq 0 ] || die "up: needs root (network namespaces)"
    down
    mkdir -p "$state"
    # Whatever fails half-way leaves nothing behind.
    trap 'down' ERR
    ip netns add "$head_ns"
    ip -n "$head_ns" link set lo up
    ip -n "$head_ns" link add br0 type bridge
    ip -n "$head_ns" addr add "$subnet.1/24" dev br0
    ip -n "$head_ns" link set br0 up
    : >"$hostfile"
    for i in $(seq 1 "$hosts"); do
        local ns=$prefix-h$i address=$subnet.$((i + 1))
        ip netns add "$ns"
        ip -n "$ns" link set lo up
        ip -n "$head_ns" link add "veth$i" type veth peer name eth0 netns "$ns"
        ip -n "$head_ns" link set "veth$i" master br0 up
        ip -n "$ns" addr add "$address/24" dev eth0
        ip -n "$ns" link set eth0 up
        echo "$address slots=$slots" >>"$hostfile"
    done
    # The rsh agent mpirun runs as `agent [ssh options] HOST COMMAND…`: it runs COMMAND with a
    # shell, as sshd would, inside the host's namespace under the host's own hostname.
    cat >"$agent" <<EOF
#!/usr/bin/env bash
while [ \$# -gt 0 ] && [ "\${1#-}" != "\$1" ]; do shift; done
host=\$1; shift
case "\$host" in
    $subnet.*) index=\$(( \${host##*.} - 1 )) ;;
    *) echo "cluster agent: unknown host \$host" >&2; exit 255 ;;
esac
exec ip netns exec $prefix-h\$index unshare --uts sh -c 'hostname "\$0" && exec sh -c "\$*"' "$prefix-h\$index" "\$*"
EOF
    chmod +x "$agent"
    trap - ERR
    # Every host's link is up before anything runs on it (bounded: 50 tries, 0.1 s apart).
    for i in $(seq 1 "$hosts"); do
        local tries=0
        until ip -n "$prefix-h$i" -o link show eth0 | grep -q 'LOWER_UP' \
            && ip -n "$head_ns" -o link show "veth$i" | grep -q 'LOWER_UP'; do
            tries=$((tries + 1))
            [ "$tries" -lt 50 ] || { down; die "up: the link of host $i ($subnet.$((i + 1))) does not come up"; }
            sleep 0.1
        done
    done
    echo "cluster: $hosts hosts × $slots slots ($subnet.2-$subnet.$((hosts + 1))), mpirun in namespace $head_ns"
}

run() {
    local seconds=300
    while [ $# -gt 0 ]; do
        case "$1" in
            -t) seconds=$2; shift 2 ;;
            --) shift; break ;;
            *) die "run: unexpected '$1' (usage: run [-t SECONDS] -- <mpirun arguments>)" ;;
        esac
    done
    [ -f "$hostfile" ] || die "run: no cluster (scripts/cluster.sh up N first)"
    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
    OMPI_MCA_plm_rsh_agent="$agent" OMPI_MCA_plm_rsh_no_tree_spawn=1 \
    OMPI_MCA_rmaps_base_mapping_policy=node OMPI_MCA_hwloc_base_binding_policy=none \
    OMPI_MCA_oob_tcp_if_include="$subnet.0/24" OMPI_MCA_btl_tcp_if_include="$subnet.0/24" \
    OMPI_MCA_btl=self,vader,tcp OMPI_MCA_rmaps_base_oversubscribe=1 \
        timeout -k 5 "$seconds" ip netns exec "$head_ns" mpirun --hostfile "$hostfile" "$@"
}

case "${1:-}" in
    up) shift; up "$@" ;;
    run) shift; run "$@" ;;
    down) down ;;
    hosts) cat "$hostfile" ;;
    check) check ;;
    *) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
