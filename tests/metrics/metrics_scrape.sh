#!/usr/bin/env bash
# Scrapes `patchwave serve` and four agents mid-rollout and checks what they
# say against the fleet: the wave counts equal `status --json`'s, the host
# whose reboot window is hours away shows its pending reboot at both ends, a
# drifted file shows at both ends, the first fetcher got the bundle's bytes
# from the origin and the origin sent them, step durations were observed, and
# gossip sees every member. Each exposition is parsed
# strictly (tests/metrics/promtext.py) before any value is read.
# Usage: metrics_scrape.sh BUILD_DIR
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# demo-04 is the test ring alone: it fetches from the origin only, and may
# reboot only in a window six hours away, so it stays reboot-pending (and its
# counters, which start again with the process, keep what it fetched).
ring_of() { if (( $1 == 4 )); then echo test; else echo tier1; fi; }
source "$HERE/../../scripts/lib/fleet.sh"
python3 "$HERE/promtext.py" --self-test

NET=127.0.84
fleet_init "${1:?usage: metrics_scrape.sh BUILD_DIR}" 4 "$NET"
started=$SECONDS
for i in 1 2 3 4; do
    printf '\n[metrics]\nlisten = "%s.%d:9465"\n' "$NET" "$((10 + i))" >> "$(dir_of "$i")/agent.toml"
done
# demo-01 re-hashes its tracked paths every second (drift).
printf '\n[drift]\ninterval = "1s"\n' >> "$(dir_of 1)/agent.toml"
window=$(python3 -c 'import datetime as d; n=d.datetime.now(d.timezone.utc); a=n+d.timedelta(hours=6); b=a+d.timedelta(hours=1); print(f"daily {a:%H:%M}-{b:%H:%M}")')
sed -i "/^\[reboot\]\$/i [windows]\nreboot = [\"$window\"]\n" "$(dir_of 4)/agent.toml"

ID=$(BUNDLE_PAYLOAD_KB=1024 make_bundle "$FLEET/bundle" 3.0.22-1)
fleet_start_serve
fleet_start_agents
# A soak of an hour: the operator opens tier1, so no timing decides when.
write_rollout "$FLEET/rollout.toml" metrics-2026-11 "$ID" 1h 1h
sleep 1
"$P" rollout publish "$FLEET/rollout.toml" >/dev/null

wait_until "demo-04 waiting for its reboot window" metrics-2026-11 'r["waves"][0]["counts"]["reboot-pending"]' 1
"$P" rollout advance metrics-2026-11 >/dev/null
wait_until "tier1 installed" metrics-2026-11 'r["waves"][1]["counts"]["installed"]' 3
# Drift on demo-01: its patched file changes behind the agent's back.
echo tampered > "$(dir_of 1)/root/etc/demo/openssl.version"
drift_seen() { "$P" audit --json 2>/dev/null | python3 -c 'import json,sys; print(sum(len(a["drift"]) for a in json.load(sys.stdin)))' 2>/dev/null || echo 0; }
until [[ "$(drift_seen)" == 1 ]]; do
    (( SECONDS - started <= FLEET_LIMIT )) || die "serve never heard of demo-01's drift"
    sleep 0.5
done

scrape() {  # URL FILE: the body, checking the media type a scraper expects
    local headers=$FLEET/headers
    curl -sS --max-time 5 -D "$headers" -o "$2" "$1" || die "cannot scrape $1"
    grep -qi '^content-type: text/plain; version=0.0.4; charset=utf-8' "$headers" || die "$1: wrong content type: $(cat "$headers")"
}
# Gossip needs a few probe rounds to see the restarted agents alive again.
for attempt in $(seq 1 40); do
    scrape "http://$NET.1:9464/metrics" "$FLEET/serve.prom"
    grep -q '^patchwave_gossip_members{state="alive"} 4$' "$FLEET/serve.prom" && break
    sleep 0.5
done
for i in 1 2 3 4; do scrape "http://$NET.$((10 + i)):9465/metrics" "$FLEET/agent-$i.prom"; done
"$P" status metrics-2026-11 --json > "$FLEET/status.json"
# The interface is read-only, and answers only to its own address.
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://$NET.1:9464/metrics")
[[ "$code" == 405 ]] || die "POST /metrics answered $code, not 405"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: attacker.example' "http://$NET.1:9464/metrics")
[[ "$code" == 421 ]] || die "a foreign Host header got $code, not 421"

python3 "$HERE/check_scrape.py" "$FLEET" "$(stat -c %s "$FLEET/bundle/payload.bin")" || die "the metrics do not match the fleet"
echo "metrics: OK in $((SECONDS - started)) s"
