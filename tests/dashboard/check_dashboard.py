#!/usr/bin/env python3
"""The browser side of dashboard.sh.
Usage: check_dashboard.py URL PATCHWAVE ROLLOUT_FILE ROLLOUT_ID SCREENSHOT PROFILE_DIR LIMIT_SECONDS"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Browser  # noqa: E402

url, patchwave, rollout_file, rollout_id, screenshot, profile, limit = sys.argv[1:8]
limit = float(limit)


def status():
    out = subprocess.run([patchwave, "status", rollout_id, "--json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)[0]


def count(wave, state):
    return (f'Number((document.querySelector(\'#rollouts [data-rollout="{rollout_id}"] [data-wave="{wave}"] '
            f'.count[data-state="{state}"]\') || {{}}).textContent)')


def rows(expression="#hosts tbody tr"):
    return f"document.querySelectorAll({json.dumps(expression)}).length"


with Browser(profile) as browser:
    page = browser.open(url)
    page.wait_for("the page loaded its first data", "document.body !== null && Number(document.body.dataset.refreshes) >= 1", 15)
    # Set once: a reload would lose it, so it proves the page updated in place.
    page.evaluate("window.patchwaveMarker = 42")
    empty = page.evaluate("document.querySelector('#rollouts').textContent")
    assert "No rollouts published yet" in empty, empty
    hosts = page.evaluate(rows())
    assert hosts == 5, f"the hosts table has {hosts} rows before the rollout, expected 5 enrolled hosts"
    assert page.evaluate("document.getElementById('connection').textContent").startswith("live"), "not live"

    subprocess.run([patchwave, "rollout", "publish", rollout_file], check=True, capture_output=True)
    page.wait_for("the rollout appeared without a reload",
                  f'document.querySelector(\'#rollouts [data-rollout="{rollout_id}"]\') !== null', 10)
    # Live: tier1's slow installs show as installing, then as installed, in the same page.
    page.wait_for("tier1 shown installing", f"{count('tier1', 'installing')} >= 1", limit)
    page.wait_for("the page shows the rollout completed",
                  f'document.querySelector(\'[data-rollout="{rollout_id}"]\').dataset.phase === "completed"', limit)
    assert page.evaluate("window.patchwaveMarker") == 42, "the page was reloaded"

    # The counts are the CLI's.
    final = status()
    assert final["phase"] == "completed", final
    for wave in final["waves"]:
        for state, number in wave["counts"].items():
            shown = page.evaluate(count(wave["name"], state))
            assert shown == number, f"wave {wave['name']} {state}: page shows {shown}, status --json {number}"
        targeted = page.evaluate(
            f'Number(document.querySelector(\'#rollouts [data-rollout="{rollout_id}"] [data-wave="{wave["name"]}"] '
            f'[data-count="targeted"]\').textContent)')
        assert targeted == wave["targeted"], f"wave {wave['name']}: {targeted} targeted shown"
    assert page.evaluate(count("test", "installed")) == 2 and page.evaluate(count("tier1", "installed")) == 3

    # The hosts table and its filters.
    page.wait_for("every host row says installed", f"{rows('#hosts tbody tr[data-state=installed]')} === 5", 5)
    page.evaluate("(() => { const s = document.getElementById('filter-wave'); s.value = 'tier1';"
                  " s.dispatchEvent(new Event('change')); })()")
    tier1 = page.evaluate(rows())
    assert tier1 == 3, f"wave filter tier1 shows {tier1} hosts"
    page.evaluate("(() => { const s = document.getElementById('filter-state'); s.value = 'failed';"
                  " s.dispatchEvent(new Event('change')); })()")
    assert page.evaluate(rows()) == 0, "state filter failed shows hosts"
    page.evaluate("(() => { for (const id of ['filter-wave', 'filter-state']) { const s = document.getElementById(id);"
                  " s.value = ''; s.dispatchEvent(new Event('change')); } })()")
    assert page.evaluate(rows()) == 5

    # The audit and the event log.
    audit = page.evaluate(f'document.querySelector(\'#audit [data-rollout="{rollout_id}"] h3\').textContent')
    assert "5 of 5 targeted hosts installed" in audit, audit
    kinds = page.evaluate("[...document.querySelectorAll('#events tbody tr')].map(r => r.dataset.kind)")
    for kind in ("published", "wave-opened", "wave-passed", "completed"):
        assert kind in kinds, f"event {kind} missing from the page's log: {kinds}"
    # Read-only and self-contained: every request the page sent was a GET to serve.
    origin = url.rstrip("/")
    assert page.requests, "no request was recorded"
    for method, target in page.requests:
        assert method == "GET" and target.startswith(origin), f"the page sent {method} {target}"
    refreshes = page.evaluate("Number(document.body.dataset.refreshes)")
    page.screenshot(screenshot, 1280, 1600)
    print(f"check_dashboard: {refreshes} live refreshes, {len(page.requests)} requests (all GET to serve), "
          f"{len(kinds)} events shown, screenshot {os.path.getsize(screenshot)} bytes")
