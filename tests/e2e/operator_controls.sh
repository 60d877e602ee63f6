#!/usr/bin/env bash
# E2E test 3: operator controls against real agents. The gate holds tier1 for
# the test ring's 1 h soak; `advance` opens it before the soak ends. A pause
# lands in the middle of tier1, while demo-05 (a slow link) is still
# downloading: nobody starts installing while paused; `resume` lets demo-05
# finish. Then pause and `abort`: abort is final (resume and advance are
# refused) and tier2 never installs.
# Usage: tests/e2e/operator_controls.sh BUILD_DIR
set -euo pipefail
ring_of() {  # 7 hosts: test ring demo-01..02, tier1 demo-03..05, tier2 demo-06..07
    if (( $1 <= 2 )); then echo test; elif (( $1 <= 5 )); then echo tier1; else echo tier2; fi
}
source "$(dirname "$0")/../../scripts/lib/fleet.sh"
fleet_init "${1:?usage: operator_controls.sh BUILD_DIR}" 7 127.0.79
R=ops-2026-11
SLOW=5  # demo-05 fetches at 128 KiB/s: the 1 MiB bundle takes about 8 s

ID=$(BUNDLE_PAYLOAD_KB=1024 make_bundle "$FLEET/bundle" 3.0.22-1 none)
fleet_agent_option $SLOW swarm 'download_limit = "128KiB/s"'
fleet_start_serve
fleet_start_agents
write_rollout "$FLEET/rollout.toml" $R "$ID" 1h 1h
sleep 2
"$P" rollout publish "$FLEET/rollout.toml" >/dev/null

wait_until "the test ring installing" $R 'r["waves"][0]["counts"]["installed"]' 2
sleep 3
[[ "$(status_field $R 'r["open_wave"]')" == 1 ]] || die "the gate opened tier1 before its soak ended"
"$P" rollout advance $R --reason "soak waived by the change board" >/dev/null
wait_agent "demo-03 installing after the advance" 3 's["rollouts"][0]["bundles"][0]["state"]' installed
wait_agent "demo-04 installing after the advance" 4 's["rollouts"][0]["bundles"][0]["state"]' installed
state=$(agent_field $SLOW 's["rollouts"][0]["bundles"][0]["state"]')
[[ "$state" == downloading || "$state" == waiting ]] || die "demo-05 was expected to be still downloading, not \"$state\""

# The pause lands mid-wave: demo-05 may finish its download, not start installing.
"$P" rollout pause $R --reason "change freeze" >/dev/null
wait_until "the pause" $R 'r["phase"]' paused
sleep 10  # longer than demo-05's download takes
state=$(agent_field $SLOW 's["rollouts"][0]["bundles"][0]["state"]')
[[ "$state" == waiting || "$state" == downloading || "$state" == ready ]] || die "demo-05 went on to \"$state\" while the rollout was paused"
! grep -q install "$(dir_of $SLOW)/root/var/log/demo-steps.log" 2>/dev/null || die "demo-05 ran its install while paused"
"$P" rollout resume $R --reason "freeze lifted" >/dev/null
wait_until "tier1 complete after the resume" $R 'r["waves"][1]["counts"]["installed"]' 3

"$P" rollout pause $R --reason "investigating" >/dev/null
"$P" rollout abort $R --reason "superseded" >/dev/null
wait_until "the abort" $R 'r["phase"]' aborted
if "$P" rollout resume $R >/dev/null 2>&1; then die "resume after abort was accepted"; fi
if "$P" rollout advance $R >/dev/null 2>&1; then die "advance after abort was accepted"; fi
sleep 4  # an aborted rollout moves no further
[[ "$(status_field $R 'r["waves"][2]["open"]')" == False ]] || die "tier2 opened after the abort"
for i in 6 7; do
    [[ ! -e "$(dir_of $i)/root/etc/demo/openssl.version" ]] || die "$(host_of $i) installed although tier2 never opened"
done
"$P" status $R
"$P" events --rollout $R
echo "e2e: OK — soak held, advance before the soak, a mid-wave pause held demo-05 back until resume, abort final"
