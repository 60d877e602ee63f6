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
source "$(dirname "$0")/fleet.sh"

fleet_init "$BUILD" 12 127.0.77
AGENTS=$FLEET_AGENTS
LIMIT_SECONDS=$FLEET_LIMIT
echo "demo: fleet under $FLEET"
echo "demo: enrolled $AGENTS agents (test ring: demo-01..02, tier1: demo-03..07, tier2: demo-08..12)"

VERSION=3.0.22-1
ID=$(make_bundle "$FLEET/bundle" "$VERSION")
echo "demo: bundle ${ID:0:12} ($VERSION) created and approved by 2 of 3 approvers"

fleet_start_serve
fleet_start_agents
write_rollout "$FLEET/rollout.toml" demo-2026-11 "$ID"
sleep 2
"$P" rollout publish "$FLEET/rollout.toml" >/dev/null
echo "demo: rollout demo-2026-11 published (3 waves); watching it"

# ---- watch the waves advance; one tier1 host defers its reboot once ---------
DEFER_HOST=demo-04
DEFER_CONFIG=$FLEET/agents/$DEFER_HOST/agent.toml
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
    dir=$FLEET/agents/$(printf "demo-%02d" "$i")
    grep -qx "$VERSION" "$dir/root/etc/demo/openssl.version" 2>/dev/null || die "$dir: the patched file is missing"
    [[ -s "$dir/reboots.log" ]] || die "$dir never rebooted"
done
(( deferred == 1 )) || die "$DEFER_HOST never got to defer its reboot"
"$P" audit --rollout demo-2026-11 --json > "$FLEET/audit.json" || die "audit --json failed"
python3 - "$FLEET/audit.json" "$AGENTS" <<'PY' || die "the audit does not show every host installed"
import json, sys
audit = json.load(open(sys.argv[1]))[0]
expected = int(sys.argv[2])
problems = [k for k in ("failed", "reboot_pending", "in_progress", "waiting", "silent") if audit[k]]
assert audit["targeted"] == expected and audit["installed"] == expected and not problems, (audit, problems)
PY
echo "demo: OK — $AGENTS hosts installed ${ID:0:12} in 3 waves in $(( $(date +%s) - start )) s, each after one reboot; $DEFER_HOST deferred once"
