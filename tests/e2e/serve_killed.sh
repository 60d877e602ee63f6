#!/usr/bin/env bash
# E2E test 4: `patchwave serve` killed (SIGKILL) mid-rollout, just as tier1
# opens. The agents carry on without it: tier1 fetches the bundle from the
# test-ring hosts (which rebooted after installing and seed their kept copy
# again) and installs; no new wave opens, since only serve signs advances.
# Restarted, serve rebuilds its view from the database and the agents'
# statuses, opens tier2 after tier1's soak, and the rollout completes.
# Usage: tests/e2e/serve_killed.sh BUILD_DIR
set -euo pipefail
ring_of() {  # 7 hosts: test ring demo-01..02, tier1 demo-03..05, tier2 demo-06..07
    if (( $1 <= 2 )); then echo test; elif (( $1 <= 5 )); then echo tier1; else echo tier2; fi
}
source "$(dirname "$0")/../../scripts/lib/fleet.sh"
FLEET_STATUS_INTERVAL=3s fleet_init "${1:?usage: serve_killed.sh BUILD_DIR}" 7 127.0.80
R=outage-2026-11
bundle_state() { agent_field "$1" 's["rollouts"][0]["bundles"][0]["state"]'; }

ID=$(BUNDLE_PAYLOAD_KB=8192 make_bundle "$FLEET/bundle" 3.0.22-1 required)
fleet_start_serve
fleet_start_agents
write_rollout "$FLEET/rollout.toml" $R "$ID" 2s
sleep 2
"$P" rollout publish "$FLEET/rollout.toml" >/dev/null

wait_until "tier1 opening" $R 'r["open_wave"]' 2  # 1-based
# Killed once the advance has left serve (demo-03 took it): the rest of the
# fleet hears of it from each other.
wait_log "demo-03 hearing of tier1's opening" 3 "rollout $R: advance.*open wave 2"
fleet_kill_serve
echo "e2e: serve killed as tier1 opened"
for i in 3 4 5; do wait_agent "$(host_of $i) installing without serve" $i 's["rollouts"][0]["bundles"][0]["state"]' installed; done
for i in 1 2; do
    grep -q "seeding the kept copy again" "$(dir_of $i)/agent.log" || die "$(host_of $i) did not seed its kept copy after its reboot"
done
sleep 5  # tier1's soak (3 s) is over: only serve could open tier2
for i in 6 7; do
    state=$(bundle_state $i)
    [[ "$state" == waiting ]] || die "$(host_of $i) is \"$state\" although no one could open tier2"
done

fleet_start_serve
echo "e2e: serve restarted"
wait_until "the rollout completing after serve's restart" $R 'r["phase"]' completed
for i in $(seq 1 "$FLEET_AGENTS"); do
    grep -qx 3.0.22-1 "$(dir_of "$i")/root/etc/demo/openssl.version" 2>/dev/null || die "$(host_of "$i") lacks the patch"
    [[ $(grep -c "install 3.0.22-1 done" "$(dir_of "$i")/root/var/log/demo-steps.log") == 1 ]] \
        || die "$(host_of "$i") installed more than once"
done
"$P" status $R
"$P" events --rollout $R
echo "e2e: OK — tier1 finished without serve, nothing opened while it was down, and the restarted serve completed the rollout"
