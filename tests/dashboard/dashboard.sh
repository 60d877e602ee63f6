#!/usr/bin/env bash
# The dashboard in headless Chromium (Debian's `chromium`, driven over the
# DevTools protocol by check_dashboard.py): the demo fleet's orchestrator with
# five agents; the page is opened before anything is published, then a rollout
# runs to completion while the page updates itself (no reload), and must show
# the counts `patchwave status --json` gives, filter its hosts table, list the
# audit and the events, and send nothing but GETs to serve. The screenshot is
# saved as BUILD_DIR/test-artifacts/dashboard.png.
# Usage: dashboard.sh BUILD_DIR
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../../scripts/lib/fleet.sh"
command -v chromium >/dev/null || { echo "dashboard: chromium is not installed (scripts/setup installs it)" >&2; exit 1; }

BUILD=${1:?usage: dashboard.sh BUILD_DIR}
NET=127.0.85
fleet_init "$BUILD" 5 "$NET"
started=$SECONDS
ID=$(make_bundle "$FLEET/bundle" 3.0.22-1 none)
# tier1's installs take 3 s, so the page has time to show them in progress.
for i in 3 4 5; do mkdir -p "$(dir_of "$i")/root/etc/demo" && echo 3 > "$(dir_of "$i")/root/etc/demo/install-delay"; done
fleet_start_serve
fleet_start_agents
write_rollout "$FLEET/rollout.toml" dashboard-2026-11 "$ID" 1s 1s
mkdir -p "$BUILD/test-artifacts"
until curl -sf -o /dev/null --max-time 2 "http://$NET.1:9466/"; do
    (( SECONDS - started <= 20 )) || die "the dashboard never answered on $NET.1:9466"
    sleep 0.2
done

python3 "$HERE/check_dashboard.py" "http://$NET.1:9466/" "$P" "$FLEET/rollout.toml" dashboard-2026-11 \
    "$BUILD/test-artifacts/dashboard.png" "$FLEET/chromium" "$FLEET_LIMIT" || die "the dashboard check failed"
echo "dashboard: OK in $((SECONDS - started)) s; screenshot $BUILD/test-artifacts/dashboard.png"
