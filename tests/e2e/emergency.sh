#!/usr/bin/env bash
# E2E test 7: an emergency rollout. The bundle has a single approval: enough
# for the root's emergency threshold (1), not for a normal rollout (2 of 3),
# which `rollout publish` refuses. Published as an emergency, it passes all
# three waves without their 1 h soaks, and every host installs it.
# Usage: tests/e2e/emergency.sh BUILD_DIR
set -euo pipefail
ring_of() {  # 5 hosts: test ring demo-01, tier1 demo-02..03, tier2 demo-04..05
    if (( $1 <= 1 )); then echo test; elif (( $1 <= 3 )); then echo tier1; else echo tier2; fi
}
source "$(dirname "$0")/../../scripts/lib/fleet.sh"
fleet_init "${1:?usage: emergency.sh BUILD_DIR}" 5 127.0.83
R=cve-2026-9999

mkdir -p "$FLEET/bundle"
printf '#!/bin/sh\nmkdir -p "$PATCHWAVE_ROOT/etc/demo" && echo hotfix > "$PATCHWAVE_ROOT/etc/demo/openssl.version"\n' > "$FLEET/bundle/install.sh"
chmod +x "$FLEET/bundle/install.sh"
cat > "$FLEET/bundle/bundle.toml" <<'TOML'
name = "openssl-hotfix"
version = "3.0.22-1+cve"
priority = "critical"
category = "security"
description = "actively exploited: the emergency path"
reboot = "none"
paths = ["/etc/demo/openssl.version"]
install = { command = "./install.sh", timeout = "1m" }
TOML
ID=$("$P" bundle create "$FLEET/bundle")
"$P" bundle approve "$ID" --key "$PATCHWAVE_HOME/keys/approver-1.key" --change CHG-EMERG-1 --note "exploited in the wild" >/dev/null

ROLLOUT_EXTRA="emergency = false" write_rollout "$FLEET/rollout.toml" $R "$ID" 1h 1h
set +e
"$P" rollout publish "$FLEET/rollout.toml" > "$FLEET/refused.txt" 2>&1
code=$?
set -e
(( code != 0 )) || die "a normal rollout of a bundle with 1 of 2 approvals was published"
grep -qi "approv" "$FLEET/refused.txt" || die "the refusal does not say why: $(cat "$FLEET/refused.txt")"
echo "e2e: normal rollout refused (exit $code): $(head -n 1 "$FLEET/refused.txt")"

fleet_start_serve
fleet_start_agents
ROLLOUT_EXTRA="emergency = true" write_rollout "$FLEET/rollout.toml" $R "$ID" 1h 1h
sleep 2
published=$SECONDS
"$P" rollout publish "$FLEET/rollout.toml" >/dev/null
wait_until "the emergency rollout completing" $R 'r["phase"]' completed
took=$((SECONDS - published))  # wait_until's limit is far below one soak
for i in $(seq 1 "$FLEET_AGENTS"); do
    grep -qx hotfix "$(dir_of "$i")/root/etc/demo/openssl.version" 2>/dev/null || die "$(host_of "$i") lacks the hotfix"
done
"$P" events --rollout $R
"$P" status $R
echo "e2e: OK — emergency rollout with 1 approval passed 3 waves (1 h soaks skipped) in ${took} s"
