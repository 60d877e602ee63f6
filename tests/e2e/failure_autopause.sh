#!/usr/bin/env bash
# E2E test 2: a bundle whose install fails on two hosts of wave 2 (tier1). The
# failures cross tier1's 0% failure threshold: serve pauses the rollout by
# itself, tier2 never opens, the audit names the failed hosts and the reason;
# a fixed bundle published as a new version of the rollout plus `resume`
# completes it.
# Usage: tests/e2e/failure_autopause.sh BUILD_DIR
set -euo pipefail
ring_of() {  # 7 hosts: test ring demo-01..02, tier1 demo-03..05, tier2 demo-06..07
    if (( $1 <= 2 )); then echo test; elif (( $1 <= 5 )); then echo tier1; else echo tier2; fi
}
source "$(dirname "$0")/../../scripts/lib/fleet.sh"
fleet_init "${1:?usage: failure_autopause.sh BUILD_DIR}" 7 127.0.78
R=demo-2026-11

ID=$(make_bundle "$FLEET/bundle" 3.0.22-1 none)
for i in 4 5; do mkdir -p "$(dir_of $i)/root/etc/demo" && touch "$(dir_of $i)/root/etc/demo/fail-install"; done
fleet_start_serve
fleet_start_agents
write_rollout "$FLEET/rollout.toml" $R "$ID"
sleep 2
"$P" rollout publish "$FLEET/rollout.toml" >/dev/null

wait_until "the auto-pause" $R 'r["phase"]' paused
"$P" status $R
sleep 3  # nothing may move on while paused
[[ "$(status_field $R 'r["waves"][2]["open"]')" == False ]] || die "tier2 opened although the rollout auto-paused"
[[ "$(status_field $R 'sum(r["waves"][2]["counts"][k] for k in ("installed", "installing", "downloading", "ready"))')" == 0 ]] \
    || die "a tier2 host started although the rollout auto-paused"
"$P" audit --rollout $R --json > "$FLEET/audit-paused.json"
python3 - "$FLEET/audit-paused.json" <<'PY' || die "the audit does not name the failed hosts and the reason"
import json, sys
audit = json.load(open(sys.argv[1]))[0]
failed = {entry["host"]: entry for entry in audit["failed"]}
assert set(failed) == {"demo-04", "demo-05"}, failed
for entry in failed.values():
    bundle = entry["bundles"][0]
    assert bundle["step"] == "install" and "exit code 3" in bundle["reason"] and bundle["rolled_back"], entry
PY
"$P" audit --rollout $R
"$P" events --rollout $R | grep -q "auto-paused" || die "no auto-paused event"

# A fixed bundle, published as version 2 of the rollout, then resume.
ID=$(make_bundle "$FLEET/bundle-fixed" 3.0.22-2 none)
sed -i "s/^bundles = .*/bundles = [\"${ID:0:16}\"]/" "$FLEET/rollout.toml"
"$P" rollout publish "$FLEET/rollout.toml" >/dev/null
"$P" rollout resume $R --reason "fixed bundle ${ID:0:12} published" >/dev/null
wait_until "the rollout completing after the resume" $R 'r["phase"]' completed
for i in $(seq 1 "$FLEET_AGENTS"); do
    grep -qx 3.0.22-2 "$(dir_of "$i")/root/etc/demo/openssl.version" 2>/dev/null || die "$(host_of "$i") lacks the fixed version"
done
"$P" status $R
echo "e2e: OK — auto-paused on tier1 failures (tier2 untouched), resumed with a fixed bundle, all 7 hosts installed"
