# A local fleet on loopback for the demo and the end-to-end tests: one
# orchestrator home and `patchwave serve`, and N agents on 127.0.x.y addresses,
# each with its own state dir, sandbox system root and supervisor loop (which
# restarts the agent when it stops, as a host coming back from a reboot would).
# Source it, then:
#
#   fleet_init BUILD N NET            temp dir, home (3 approvers, 2 of 3; emergency 1),
#                                     serve.toml, N agents enrolled with ring_of;
#                                     sets P (patchwave), A (patchwave-agent), FLEET
#   ring_of I                         the ring label of agent I (override before fleet_init)
#   host_of I / dir_of I              its host name (demo-01..) / its directory
#   make_bundle DIR VERSION [REBOOT]  create a bundle (REBOOT: required|none), approve
#                                     it 2 of 3, print its id (see the sandbox switches below);
#                                     BUNDLE_PAYLOAD_KB=N adds N KiB of random payload
#   fleet_agent_option I SECTION LINE add a line to a section of agent I's agent.toml
#   write_rollout FILE NAME ID [TEST_SOAK] [TIER1_SOAK]   a 3-wave rollout: test, tier1,
#                                     tier2 (soaks 3s; ROLLOUT_EXTRA=lines adds top-level keys)
#   fleet_start_serve / fleet_kill_serve     (SIGKILL) / fleet_start_agents
#                                     (serve's metrics: http://NET.1:9464/metrics, its
#                                     dashboard: http://NET.1:9466/)
#   fleet_kill_agent I                SIGKILL agent I (its supervisor starts it again)
#   status_field ROLLOUT EXPR         python over r, the rollout's `status --json`
#   agent_field I EXPR                python over s, agent I's `status --json`
#   wait_until WHAT ROLLOUT EXPR VALUE / wait_agent WHAT I EXPR VALUE
#   wait_log WHAT I REGEX             until agent I's log has a line matching REGEX
#   die REASON                        print the audit and the serve log, exit 1
#
# Sandbox switches, files under an agent's root that its bundles obey:
# etc/demo/fail-install (install exits 3 for version 3.0.22-1),
# etc/demo/install-delay (install sleeps that many seconds first).
# Every install and rollback appends a line to var/log/demo-steps.log.
# PATCHWAVE_DEMO_KEEP=1 keeps the temp dir; PATCHWAVE_DEMO_LIMIT bounds every wait.

FLEET_PIDS=()
FLEET_LIMIT=${PATCHWAVE_DEMO_LIMIT:-110}

if ! declare -F ring_of >/dev/null; then
    ring_of() {
        if (( $1 <= 2 )); then echo test; elif (( $1 <= 7 )); then echo tier1; else echo tier2; fi
    }
fi
host_of() { printf "demo-%02d" "$1"; }
dir_of() { echo "$FLEET/agents/$(host_of "$1")"; }

fleet_cleanup() {
    local status=$?
    trap - EXIT INT TERM
    touch "$FLEET/stop" 2>/dev/null || true
    for pid in "${FLEET_PIDS[@]}"; do
        # Our own children only (supervisor loops and serve); each loop's agent is its child.
        if [[ "$pid" =~ ^[0-9]+$ ]] && (( pid > 1 )); then
            pkill -TERM -P "$pid" 2>/dev/null || true
            kill -TERM "$pid" 2>/dev/null || true
        fi
    done
    sleep 1
    for pid in "${FLEET_PIDS[@]}"; do
        if [[ "$pid" =~ ^[0-9]+$ ]] && (( pid > 1 )); then
            pkill -KILL -P "$pid" 2>/dev/null || true
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    wait 2>/dev/null || true
    if [[ "${PATCHWAVE_DEMO_KEEP:-0}" == 1 ]]; then
        echo "fleet: kept $FLEET"
    else
        rm -rf "$FLEET"
    fi
    exit "$status"
}

die() {
    echo "FAILED: $*" >&2
    echo "---- audit ----" >&2
    "$P" audit >&2 || true
    echo "---- serve log (tail) ----" >&2
    tail -n 20 "$FLEET/serve.log" >&2 || true
    exit 1
}

fleet_init() {
    BUILD=$1 FLEET_AGENTS=$2 NET=$3
    P=$BUILD/orchestrator/patchwave
    A=$BUILD/agent/patchwave-agent
    [[ -x "$P" && -x "$A" ]] || { echo "fleet: $P or $A is not built" >&2; exit 1; }
    FLEET=$(mktemp -d /tmp/patchwave-fleet.XXXXXX)
    trap fleet_cleanup EXIT
    trap 'echo "fleet: interrupted"; exit 130' INT TERM
    export PATCHWAVE_HOME=$FLEET/home

    "$P" init --approvers 3 --threshold 2 --emergency-threshold 1 >/dev/null
    "$P" trust export --out "$FLEET/root.pwe" >/dev/null
    cat > "$FLEET/serve.toml" <<TOML
[serve]
gossip_listen = "$NET.1:7946"
swarm_listen = "$NET.1:6881"
probe_interval = "1s"
gate_interval = "1s"
super_seed = false
metrics_listen = "$NET.1:9464"
dashboard_listen = "$NET.1:9466"
TOML
    local i host dir pubkey
    for i in $(seq 1 "$FLEET_AGENTS"); do
        host=$(host_of "$i")
        dir=$(dir_of "$i")
        mkdir -p "$dir/state" "$dir/root/etc"
        cat /proc/sys/kernel/random/uuid > "$dir/boot_id"
        # The reboot command: a new boot id, then stop the agent; its
        # supervisor loop starts it again.
        cat > "$dir/reboot.sh" <<SH
#!/bin/sh
cat /proc/sys/kernel/random/uuid > "$dir/boot_id"
echo "reboot \$(date -u +%FT%TZ)" >> "$dir/reboots.log"
kill -TERM "\$PATCHWAVE_AGENT_PID"
SH
        chmod +x "$dir/reboot.sh"
        cat > "$dir/agent.toml" <<TOML
[agent]
state_dir = "$dir/state"
root = "$FLEET/root.pwe"
certificate = "$dir/agent.cert"
system_root = "$dir/root"
status_interval = "${FLEET_STATUS_INTERVAL:-30s}"

[gossip]
listen = "$NET.$((10 + i)):7946"
seeds = ["$NET.1:7946"]

[swarm]
listen = "$NET.$((10 + i)):6881"
${FLEET_SWARM_EXTRA:-}

[reboot]
command = "$dir/reboot.sh"
boot_id_file = "$dir/boot_id"
notice = "3s"
TOML
        pubkey=$("$A" init --config "$dir/agent.toml" 2>/dev/null)
        "$P" enroll --pubkey "$pubkey" --host "$host" --label "ring=$(ring_of "$i")" --out "$dir/agent.cert" >/dev/null
    done
}

make_bundle() {
    local dir=$1 version=$2 reboot=${3:-required} id
    mkdir -p "$dir"
    cat > "$dir/bundle.toml" <<TOML
name = "demo-openssl"
version = "$version"
priority = "critical"
category = "security"
description = "the demo patch: writes /etc/demo/openssl.version"
reboot = "$reboot"
paths = ["/etc/demo/openssl.version"]
install = { command = "./install.sh", timeout = "1m" }
verify = { command = "./verify.sh", timeout = "1m" }
rollback = { command = "./rollback.sh", timeout = "1m" }
TOML
    cat > "$dir/install.sh" <<SH
#!/bin/sh
set -e
mkdir -p "\$PATCHWAVE_ROOT/var/log"
echo "install $version start" >> "\$PATCHWAVE_ROOT/var/log/demo-steps.log"
if [ -e "\$PATCHWAVE_ROOT/etc/demo/install-delay" ]; then sleep "\$(cat "\$PATCHWAVE_ROOT/etc/demo/install-delay")"; fi
if [ -e "\$PATCHWAVE_ROOT/etc/demo/fail-install" ] && [ "$version" = "3.0.22-1" ]; then
    echo "demo: simulated install failure (no space left on device)" >&2
    exit 3
fi
mkdir -p "\$PATCHWAVE_ROOT/etc/demo"
echo "$version" > "\$PATCHWAVE_ROOT/etc/demo/openssl.version"
echo "install $version done" >> "\$PATCHWAVE_ROOT/var/log/demo-steps.log"
SH
    cat > "$dir/verify.sh" <<SH
#!/bin/sh
grep -qx "$version" "\$PATCHWAVE_ROOT/etc/demo/openssl.version"
SH
    cat > "$dir/rollback.sh" <<'SH'
#!/bin/sh
mkdir -p "$PATCHWAVE_ROOT/var/log"
echo "rollback" >> "$PATCHWAVE_ROOT/var/log/demo-steps.log"
rm -f "$PATCHWAVE_ROOT/etc/demo/openssl.version"
SH
    chmod +x "$dir"/*.sh
    if [[ -n "${BUNDLE_PAYLOAD_KB:-}" ]]; then
        head -c "$((BUNDLE_PAYLOAD_KB * 1024))" /dev/urandom > "$dir/payload.bin"
    fi
    id=$("$P" bundle create "$dir")
    "$P" bundle approve "$id" --key "$PATCHWAVE_HOME/keys/approver-1.key" --change CHG-2026-1123 --note "reviewed" >/dev/null
    "$P" bundle approve "$id" --key "$PATCHWAVE_HOME/keys/approver-2.key" --change CHG-2026-1123 --note "tested" >/dev/null
    echo "$id"
}

write_rollout() {
    local file=$1 name=$2 id=$3 test_soak=${4:-3s} tier1_soak=${5:-3s}
    cat > "$file" <<TOML
name = "$name"
bundles = ["${id:0:16}"]
expires = "2099-01-01T00:00:00Z"
reboot_deadline = "10m"
max_reboot_deferrals = 2
${ROLLOUT_EXTRA:-}
[[wave]]
name = "test"
select = { ring = "test" }
soak = "$test_soak"
[[wave]]
name = "tier1"
select = { ring = "tier1" }
soak = "$tier1_soak"
[[wave]]
name = "tier2"
select = { ring = "tier2" }
TOML
}

fleet_agent_option() {
    sed -i "/^\[$2\]\$/a $3" "$(dir_of "$1")/agent.toml"
}

fleet_start_serve() {
    "$P" serve --config "$FLEET/serve.toml" >> "$FLEET/serve.log" 2>&1 &
    SERVE_PID=$!
    FLEET_PIDS+=("$SERVE_PID")
}

fleet_kill_serve() {
    [[ "${SERVE_PID:-}" =~ ^[0-9]+$ ]] && (( SERVE_PID > 1 )) || return 0
    kill -KILL "$SERVE_PID" 2>/dev/null || true
    wait "$SERVE_PID" 2>/dev/null || true
    SERVE_PID=
}

fleet_start_agents() {
    local i dir
    for i in $(seq 1 "$FLEET_AGENTS"); do
        dir=$(dir_of "$i")
        (
            while [[ ! -e "$FLEET/stop" ]]; do
                "$A" run --config "$dir/agent.toml" >> "$dir/agent.log" 2>&1 &
                echo $! > "$dir/agent.pid"
                wait $! || true
                sleep 0.3
            done
        ) &
        FLEET_PIDS+=($!)
    done
}

fleet_kill_agent() {
    local pid
    pid=$(cat "$(dir_of "$1")/agent.pid" 2>/dev/null || echo 0)
    [[ "$pid" =~ ^[0-9]+$ ]] && (( pid > 1 )) || die "agent $1 has no pid"
    kill -KILL "$pid" 2>/dev/null || true
}

status_field() {
    "$P" status "$1" --json 2>/dev/null | python3 -c "import json,sys; r=json.load(sys.stdin)[0]; print($2)" 2>/dev/null || echo "?"
}

agent_field() {
    "$A" status --json --config "$(dir_of "$1")/agent.toml" 2>/dev/null \
        | python3 -c "import json,sys; s=json.load(sys.stdin); print($2)" 2>/dev/null || echo "?"
}

wait_until() {
    local started=$SECONDS
    until [[ "$(status_field "$2" "$3")" == "$4" ]]; do
        (( SECONDS - started <= FLEET_LIMIT )) || die "$1 never happened (waited ${FLEET_LIMIT}s)"
        sleep 0.5
    done
}

wait_agent() {
    local started=$SECONDS
    until [[ "$(agent_field "$2" "$3")" == "$4" ]]; do
        (( SECONDS - started <= FLEET_LIMIT )) || die "$1 never happened (waited ${FLEET_LIMIT}s)"
        sleep 0.3
    done
}

wait_log() {
    local started=$SECONDS
    until grep -Eq "$3" "$(dir_of "$2")/agent.log" 2>/dev/null; do
        (( SECONDS - started <= FLEET_LIMIT )) || die "$1 never happened (waited ${FLEET_LIMIT}s)"
        sleep 0.2
    done
}
