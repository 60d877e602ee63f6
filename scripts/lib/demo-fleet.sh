#!/usr/bin/env bash
# The demo fleet, on this machine: `patchwave serve` and 12 agents on loopback
# (127.0.77.x), each with its own state dir and sandbox system root under a
# temp dir, rolling a signed, 2-of-3-approved bundle that needs a reboot out in
# three waves (test ring, then two production tiers). Each agent's reboot
# command "reboots" it: a new boot id, and its supervisor loop restarts it. One
# host defers its reboot once. Ends with the audit; exits 0 when every host has
# the bundle installed, non-zero with the reason otherwise. Everything it
# started is stopped and removed on exit, Ctrl-C included
# (PATCHWAVE_DEMO_KEEP=1 keeps the temp dir).
# Usage: scripts/lib/demo-fleet.sh BUILD_DIR   (scripts/demo builds and calls it;
# the e2e test calls it with the test build).
set -euo pipefail
BUILD=${1:?usage: demo-fleet.sh BUILD_DIR}

P=$BUILD/orchestrator/patchwave
A=$BUILD/agent/patchwave-agent
[[ -x "$P" && -x "$A" ]] || { echo "demo: $P or $A is not built" >&2; exit 1; }
AGENTS=12
LIMIT_SECONDS=${PATCHWAVE_DEMO_LIMIT:-110}
NET=127.0.77
DEMO=$(mktemp -d /tmp/patchwave-demo.XXXXXX)
PIDS=()

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    touch "$DEMO/stop" 2>/dev/null || true
    for pid in "${PIDS[@]}"; do
        # Our own children only (supervisor loops and serve); each loop's agent is its child.
        if [[ "$pid" =~ ^[0-9]+$ ]] && (( pid > 1 )); then
            pkill -TERM -P "$pid" 2>/dev/null || true
            kill -TERM "$pid" 2>/dev/null || true
        fi
    done
    sleep 1
    for pid in "${PIDS[@]}"; do
        if [[ "$pid" =~ ^[0-9]+$ ]] && (( pid > 1 )); then
            pkill -KILL -P "$pid" 2>/dev/null || true
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    wait 2>/dev/null || true
    if [[ "${PATCHWAVE_DEMO_KEEP:-0}" == 1 ]]; then
        echo "demo: kept $DEMO"
    else
        rm -rf "$DEMO"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'echo "demo: interrupted"; exit 130' INT TERM

die() {
    echo "demo: FAILED: $*" >&2
    echo "---- audit ----" >&2
    "$P" audit >&2 || true
    echo "---- serve log (tail) ----" >&2
    tail -n 20 "$DEMO/serve.log" >&2 || true
    exit 1
}

export PATCHWAVE_HOME=$DEMO/home
echo "demo: fleet under $DEMO"

# ---- the orchestrator: keys, trust root (2 of 3 approvers), serve -----------
"$P" init --approvers 3 --threshold 2 --emergency-threshold 1 >/dev/null
"$P" trust export --out "$DEMO/root.pwe" >/dev/null
cat > "$DEMO/serve.toml" <<TOML
[serve]
gossip_listen = "$NET.1:7946"
swarm_listen = "$NET.1:6881"
probe_interval = "1s"
gate_interval = "1s"
super_seed = false
TOML

# ---- 12 agents: 2 in the test ring, 5 and 5 in two production tiers ---------
ring_of() {
    if (( $1 <= 2 )); then echo test; elif (( $1 <= 7 )); then echo tier1; else echo tier2; fi
}
for i in $(seq 1 $AGENTS); do
    host=$(printf "demo-%02d" "$i")
    dir=$DEMO/agents/$host
    mkdir -p "$dir/state" "$dir/root/etc"
    cat /proc/sys/kernel/random/uuid > "$dir/boot_id"
    # The reboot command: a new boot id, then stop the agent; its supervisor
    # loop starts it again, as a host coming back from a reboot would.
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
root = "$DEMO/root.pwe"
certificate = "$dir/agent.cert"
system_root = "$dir/root"
status_interval = "30s"

[gossip]
listen = "$NET.$((10 + i)):7946"
seeds = ["$NET.1:7946"]

[swarm]
listen = "$NET.$((10 + i)):6881"

[reboot]
command = "$dir/reboot.sh"
boot_id_file = "$dir/boot_id"
notice = "3s"
TOML
    pubkey=$("$A" init --config "$dir/agent.toml" 2>/dev/null)
    "$P" enroll --pubkey "$pubkey" --host "$host" --label "ring=$(ring_of "$i")" --out "$dir/agent.cert" >/dev/null
done
echo "demo: enrolled $AGENTS agents (test ring: demo-01..02, tier1: demo-03..07, tier2: demo-08..12)"

# ---- the bundle: writes a versioned file under the sandbox, needs a reboot --
# make_bundle DIR VERSION: prints the bundle id once created and approved by 2 of 3.
# Its install fails where the sandbox holds etc/demo/fail-install (the failure scenario).
make_bundle() {
    local dir=$1 version=$2 id
    mkdir -p "$dir"
    cat > "$dir/bundle.toml" <<TOML
name = "demo-openssl"
version = "$version"
priority = "critical"
category = "security"
description = "the demo patch: writes /etc/demo/openssl.version"
reboot = "required"
paths = ["/etc/demo/openssl.version"]
install = { command = "./install.sh", timeout = "1m" }
verify = { command = "./verify.sh", timeout = "1m" }
rollback = { command = "./rollback.sh", timeout = "1m" }
TOML
    cat > "$dir/install.sh" <<SH
#!/bin/sh
set -e
if [ -e "\$PATCHWAVE_ROOT/etc/demo/fail-install" ] && [ "$version" = "3.0.22-1" ]; then
    echo "demo: simulated install failure (no space left on device)" >&2
    exit 3
fi
mkdir -p "\$PATCHWAVE_ROOT/etc/demo"
echo "$version" > "\$PATCHWAVE_ROOT/etc/demo/openssl.version"
SH
    cat > "$dir/verify.sh" <<SH
#!/bin/sh
grep -qx "$version" "\$PATCHWAVE_ROOT/etc/demo/openssl.version"
SH
    cat > "$dir/rollback.sh" <<'SH'
#!/bin/sh
rm -f "$PATCHWAVE_ROOT/etc/demo/openssl.version"
SH
    chmod +x "$dir"/*.sh
    id=$("$P" bundle create "$dir")
    "$P" bundle approve "$id" --key "$PATCHWAVE_HOME/keys/approver-1.key" --change CHG-2026-1123 --note "reviewed" >/dev/null
    "$P" bundle approve "$id" --key "$PATCHWAVE_HOME/keys/approver-2.key" --change CHG-2026-1123 --note "tested" >/dev/null
    echo "$id"
}
VERSION=3.0.22-1
ID=$(make_bundle "$DEMO/bundle" "$VERSION")
echo "demo: bundle ${ID:0:12} ($VERSION) created and approved by 2 of 3 approvers"

# The failure scenario (the e2e test): the install fails on two tier1 hosts.
SCENARIO=${PATCHWAVE_DEMO_SCENARIO:-demo}
if [[ "$SCENARIO" == failure ]]; then
    for host in demo-05 demo-06; do mkdir -p "$DEMO/agents/$host/root/etc/demo" && touch "$DEMO/agents/$host/root/etc/demo/fail-install"; done
fi

# ---- start serve and the agents ----------------------------------------------
"$P" serve --config "$DEMO/serve.toml" > "$DEMO/serve.log" 2>&1 &
PIDS+=($!)
for i in $(seq 1 $AGENTS); do
    dir=$DEMO/agents/$(printf "demo-%02d" "$i")
    (
        while [[ ! -e "$DEMO/stop" ]]; do
            "$A" run --config "$dir/agent.toml" >> "$dir/agent.log" 2>&1 || true
            sleep 0.3
        done
    ) &
    PIDS+=($!)
done

TEST_SOAK=3s
[[ "$SCENARIO" == operator ]] && TEST_SOAK=1h  # only an operator's advance opens tier1
cat > "$DEMO/rollout.toml" <<TOML
name = "demo-2026-11"
bundles = ["${ID:0:16}"]
expires = "2099-01-01T00:00:00Z"
reboot_deadline = "10m"
max_reboot_deferrals = 2
[[wave]]
name = "test"
select = { ring = "test" }
soak = "$TEST_SOAK"
[[wave]]
name = "tier1"
select = { ring = "tier1" }
soak = "3s"
[[wave]]
name = "tier2"
select = { ring = "tier2" }
TOML
sleep 2
"$P" rollout publish "$DEMO/rollout.toml" >/dev/null
echo "demo: rollout demo-2026-11 published (3 waves); watching it"

status_field() {  # python expression over r, the rollout's status JSON
    "$P" status demo-2026-11 --json 2>/dev/null | python3 -c "import json,sys; r=json.load(sys.stdin)[0]; print($1)" 2>/dev/null || echo "?"
}

wait_until() {  # wait_until WHAT PYTHON-EXPRESSION VALUE
    local started=$(date +%s)
    until [[ "$(status_field "$2")" == "$3" ]]; do
        (( $(date +%s) - started <= LIMIT_SECONDS )) || die "$1 never happened"
        sleep 0.5
    done
}

if [[ "$SCENARIO" == operator ]]; then
    # Operator control against real agents: the gate holds tier1 for the 1 h
    # soak; pause; advance opens tier1 before the soak ends (and resumes);
    # pause and abort stop everything else, and abort is final.
    wait_until "the test ring installing" 'r["waves"][0]["counts"]["installed"]' 2
    sleep 3
    [[ "$(status_field 'r["open_wave"]')" == 1 ]] || die "the gate opened tier1 before its soak ended"
    "$P" rollout pause demo-2026-11 --reason "change freeze" >/dev/null
    wait_until "the pause" 'r["phase"]' paused
    "$P" rollout advance demo-2026-11 --reason "soak waived by the change board" >/dev/null
    wait_until "tier1 installing after the advance" 'r["waves"][1]["counts"]["installed"]' 5
    "$P" rollout pause demo-2026-11 --reason "investigating" >/dev/null
    "$P" rollout abort demo-2026-11 --reason "superseded" >/dev/null
    wait_until "the abort" 'r["phase"]' aborted
    if "$P" rollout resume demo-2026-11 >/dev/null 2>&1; then die "resume after abort was accepted"; fi
    if "$P" rollout advance demo-2026-11 >/dev/null 2>&1; then die "advance after abort was accepted"; fi
    sleep 5  # an aborted rollout moves no further
    [[ "$(status_field 'r["waves"][2]["open"]')" == False ]] || die "tier2 opened after the abort"
    for i in $(seq 8 $AGENTS); do
        dir=$DEMO/agents/$(printf "demo-%02d" "$i")
        [[ ! -e "$dir/root/etc/demo/openssl.version" ]] || die "$dir installed although tier2 never opened"
    done
    "$P" status demo-2026-11
    "$P" events --rollout demo-2026-11
    echo "demo: OK — operator pause, advance before the soak, pause and a final abort acted on the fleet"
    exit 0
fi

if [[ "$SCENARIO" == failure ]]; then
    # The failures in tier1 cross its 0% failure threshold: serve pauses the
    # rollout by itself, and tier2 never opens.
    start=$(date +%s)
    until [[ "$(status_field 'r["phase"]')" == paused ]]; do
        (( $(date +%s) - start <= LIMIT_SECONDS )) || die "the rollout never auto-paused"
        sleep 0.5
    done
    "$P" status demo-2026-11
    sleep 3  # nothing may move on while paused
    [[ "$(status_field 'r["waves"][2]["open"]')" == False ]] || die "tier2 opened although the rollout auto-paused"
    [[ "$(status_field 'r["waves"][2]["counts"]["installed"] + r["waves"][2]["counts"]["installing"]')" == 0 ]] \
        || die "a tier2 host installed although the rollout auto-paused"
    "$P" audit --rollout demo-2026-11 --json > "$DEMO/audit-paused.json"
    python3 - "$DEMO/audit-paused.json" <<'PY' || die "the audit does not name the failed hosts and the reason"
import json, sys
audit = json.load(open(sys.argv[1]))[0]
failed = {entry["host"]: entry for entry in audit["failed"]}
assert set(failed) == {"demo-05", "demo-06"}, failed
for entry in failed.values():
    bundle = entry["bundles"][0]
    assert bundle["step"] == "install" and "exit code 3" in bundle["reason"] and bundle["rolled_back"], entry
PY
    "$P" audit --rollout demo-2026-11
    "$P" events --rollout demo-2026-11 | grep -q "auto-paused" || die "no auto-paused event"
    # A fixed bundle, published as a new version of the rollout, then resume.
    VERSION=3.0.22-2
    ID=$(make_bundle "$DEMO/bundle-fixed" "$VERSION")
    sed -i "s/^bundles = .*/bundles = [\"${ID:0:16}\"]/" "$DEMO/rollout.toml"
    "$P" rollout publish "$DEMO/rollout.toml" >/dev/null
    "$P" rollout resume demo-2026-11 --reason "fixed bundle ${ID:0:12} published" >/dev/null
    echo "demo: fixed bundle ${ID:0:12} ($VERSION) published and the rollout resumed"
fi

# ---- watch the waves advance; one tier1 host defers its reboot once ---------
DEFER_HOST=demo-04
DEFER_CONFIG=$DEMO/agents/$DEFER_HOST/agent.toml
deferred=0
start=$(date +%s)
last_print=0
while true; do
    now=$(date +%s)
    elapsed=$((now - start))
    (( elapsed <= LIMIT_SECONDS )) || die "not every host installed the bundle within ${LIMIT_SECONDS}s"
    if (( deferred == 0 )); then
        pending=$("$A" status --json --config "$DEFER_CONFIG" 2>/dev/null \
            | python3 -c 'import json,sys; print(json.load(sys.stdin)["reboot"]["pending"])' 2>/dev/null || echo False)
        if [[ "$pending" == True ]] && "$A" defer-reboot --for 5s --config "$DEFER_CONFIG" >/dev/null 2>&1; then
            deferred=1
            echo "demo: [$elapsed s] the user of $DEFER_HOST deferred its reboot by 5 s"
        fi
    fi
    if (( now - last_print >= 4 )); then
        last_print=$now
        echo "---- [$elapsed s] ----"
        "$P" status demo-2026-11 2>/dev/null || true
    fi
    done_count=$("$P" status demo-2026-11 --json 2>/dev/null | python3 -c '
import json, sys
r = json.load(sys.stdin)[0]
print(sum(w["counts"]["installed"] for w in r["waves"]) if r["phase"] == "completed" else -1)' 2>/dev/null || echo -1)
    if [[ "$done_count" == "$AGENTS" ]]; then break; fi
    sleep 0.5
done

echo "---- final status ----"
"$P" status demo-2026-11
echo "---- audit ----"
"$P" audit --rollout demo-2026-11
echo "---- events ----"
"$P" events --rollout demo-2026-11 || true

# Every sandbox has the file, every host rebooted once, the deferral happened.
for i in $(seq 1 $AGENTS); do
    dir=$DEMO/agents/$(printf "demo-%02d" "$i")
    grep -qx "$VERSION" "$dir/root/etc/demo/openssl.version" 2>/dev/null || die "$dir: the patched file is missing"
    [[ -s "$dir/reboots.log" ]] || die "$dir never rebooted"
done
(( deferred == 1 )) || die "$DEFER_HOST never got to defer its reboot"
"$P" audit --rollout demo-2026-11 --json > "$DEMO/audit.json" || die "audit --json failed"
python3 - "$DEMO/audit.json" "$AGENTS" <<'PY' || die "the audit does not show every host installed"
import json, sys
audit = json.load(open(sys.argv[1]))[0]
expected = int(sys.argv[2])
problems = [k for k in ("failed", "reboot_pending", "in_progress", "waiting", "silent") if audit[k]]
assert audit["targeted"] == expected and audit["installed"] == expected and not problems, (audit, problems)
PY
echo "demo: OK — $AGENTS hosts installed ${ID:0:12} in 3 waves in $(( $(date +%s) - start )) s, each after one reboot; $DEFER_HOST deferred once"
