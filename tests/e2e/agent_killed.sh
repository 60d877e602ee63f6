#!/usr/bin/env bash
# E2E test 5: agents SIGKILLed mid-download and mid-install, with serve
# running. demo-02 is killed while its slow download is under way, demo-03
# while its install (slowed to 4 s) is running; their supervisor loops start
# them again. Both end installed, each install ran to completion exactly once
# (the interrupted one was rolled back first, after its leftover process was
# stopped), and nothing runs again afterwards.
# Usage: tests/e2e/agent_killed.sh BUILD_DIR
set -euo pipefail
ring_of() {  # 5 hosts: test ring demo-01..03, tier1 demo-04, tier2 demo-05
    if (( $1 <= 3 )); then echo test; elif (( $1 <= 4 )); then echo tier1; else echo tier2; fi
}
source "$(dirname "$0")/../../scripts/lib/fleet.sh"
fleet_init "${1:?usage: agent_killed.sh BUILD_DIR}" 5 127.0.82
R=crash-2026-11
DOWNLOADER=2 INSTALLER=3
bundle() { agent_field "$1" "s[\"rollouts\"][0][\"bundles\"][0][\"$2\"]"; }
steps() { cat "$(dir_of "$1")/root/var/log/demo-steps.log" 2>/dev/null; }

ID=$(BUNDLE_PAYLOAD_KB=2048 make_bundle "$FLEET/bundle" 3.0.22-1 none)
fleet_agent_option $DOWNLOADER swarm 'download_limit = "128KiB/s"'
mkdir -p "$(dir_of $INSTALLER)/root/etc/demo" && echo 4 > "$(dir_of $INSTALLER)/root/etc/demo/install-delay"
fleet_start_serve
fleet_start_agents
write_rollout "$FLEET/rollout.toml" $R "$ID" 2s
sleep 2
"$P" rollout publish "$FLEET/rollout.toml" >/dev/null

# Mid-install: the install has started (its first line is logged) and sleeps.
started=$SECONDS
until steps $INSTALLER | grep -q "install 3.0.22-1 start"; do
    (( SECONDS - started <= FLEET_LIMIT )) || die "demo-03's install never started"
    sleep 0.2
done
fleet_kill_agent $INSTALLER
echo "e2e: demo-03 killed during its install"

# Mid-download: three seconds into a download that takes about sixteen.
wait_log "demo-02's download starting" $DOWNLOADER "bundle [0-9a-f]+: downloading"
sleep 3
[[ "$(bundle $DOWNLOADER state)" == downloading ]] || die "demo-02 was expected to be downloading, not \"$(bundle $DOWNLOADER state)\""
fleet_kill_agent $DOWNLOADER
echo "e2e: demo-02 killed during its download"

for i in 1 $DOWNLOADER $INSTALLER; do
    wait_agent "$(host_of $i) installed" $i 's["rollouts"][0]["bundles"][0]["state"]' installed
done
sleep 3  # nothing may run again once installed
for i in 1 $DOWNLOADER $INSTALLER; do
    grep -qx 3.0.22-1 "$(dir_of $i)/root/etc/demo/openssl.version" || die "$(host_of $i) lacks the patch"
    [[ $(steps $i | grep -c "install 3.0.22-1 done") == 1 ]] || die "$(host_of $i) completed its install $(steps $i | grep -c done) times"
done
[[ $(steps $DOWNLOADER | grep -c "install 3.0.22-1 start") == 1 ]] || die "demo-02 started its install more than once"
[[ "$(steps $INSTALLER)" == $'install 3.0.22-1 start\nrollback\ninstall 3.0.22-1 start\ninstall 3.0.22-1 done' ]] \
    || die "demo-03's steps were not: install (killed), rollback, install: $(steps $INSTALLER | tr '\n' '|')"
grep -Eq "stopped [0-9]+ process\(es\) of a step" "$(dir_of $INSTALLER)/agent.log" \
    || die "demo-03 did not stop the install its killed run left behind"
steps $INSTALLER
echo "e2e: OK — killed mid-download and mid-install, both recovered and installed exactly once"
