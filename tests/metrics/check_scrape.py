#!/usr/bin/env python3
"""Checks the scrapes metrics_scrape.sh saved against the fleet it ran.
Usage: check_scrape.py FLEET_DIR PAYLOAD_BYTES (FLEET_DIR holds serve.prom,
agent-1..4.prom and status.json). Exits non-zero naming the first mismatch."""
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import promtext  # noqa: E402

fleet, payload = sys.argv[1], int(sys.argv[2])
ROLLOUT = "metrics-2026-11"


def load(name):
    with open(os.path.join(fleet, name), encoding="utf-8") as f:
        families = promtext.parse(f.read())
    for family in families:
        assert family.startswith("patchwave_"), f"{name}: {family} lacks the patchwave_ prefix"
    return families


def expect(what, got, want):
    assert got == want, f"{what}: {got}, expected {want}"


serve = load("serve.prom")
agents = {i: load(f"agent-{i}.prom") for i in (1, 2, 3, 4)}
status = json.load(open(os.path.join(fleet, "status.json")))[0]

# Types as documented.
for name, kind in {"patchwave_rollouts": "gauge", "patchwave_wave_hosts": "gauge",
                   "patchwave_swarm_sent_bytes_total": "counter", "patchwave_gossip_members": "gauge"}.items():
    expect(f"TYPE of {name}", serve[name].type, kind)
expect("TYPE of the step durations", agents[4]["patchwave_agent_step_duration_seconds"].type, "histogram")

# ---- serve: the waves as `status --json` counts them, state by state
expect("rollouts running", serve["patchwave_rollouts"].value(phase="running"), 1)
expect("rollouts completed", serve["patchwave_rollouts"].value(phase="completed"), 0)
expect("open wave", serve["patchwave_rollout_open_wave"].value(rollout=ROLLOUT), status["open_wave"])
for wave in status["waves"]:
    expect(f"{wave['name']} targeted", serve["patchwave_wave_hosts_targeted"].value(rollout=ROLLOUT, wave=wave["name"]),
           wave["targeted"])
    for state, count in wave["counts"].items():
        expect(f"{wave['name']} {state}",
               serve["patchwave_wave_hosts"].value(rollout=ROLLOUT, wave=wave["name"], state=state), count)
installed = sum(serve["patchwave_wave_hosts"].values(rollout=ROLLOUT, state="installed"))
expect("hosts installed (all but the one waiting for its window)", installed, 3)
expect("waves passed (tier1)", serve["patchwave_waves"].value(rollout=ROLLOUT, state="passed"), 1)
expect("waves open (test, its host waiting to reboot)", serve["patchwave_waves"].value(rollout=ROLLOUT, state="open"), 1)
expect("waves pending (tier2)", serve["patchwave_waves"].value(rollout=ROLLOUT, state="pending"), 1)
expect("hosts enrolled", serve["patchwave_hosts_enrolled"].value(), 4)
expect("hosts silent", serve["patchwave_hosts_silent"].value(), 0)
expect("reboots pending", serve["patchwave_reboots_pending"].value(), 1)
assert serve["patchwave_reboot_pending_oldest_seconds"].value() >= 0
expect("drift findings", serve["patchwave_drift_findings"].value(), 1)
expect("hosts with drift", serve["patchwave_hosts_with_drift"].value(), 1)
expect("gossip members alive", serve["patchwave_gossip_members"].value(state="alive"), 4)
expect("report age", serve["patchwave_report_age_seconds"].value(), 0)
assert serve["patchwave_status_records_folded_total"].value() >= 4

# ---- swarm bytes: demo-04 fetched first, when only the origin had the bundle
received = {i: sum(a["patchwave_swarm_received_bytes_total"].values()) for i, a in agents.items()}
first_from_origin = agents[4]["patchwave_swarm_received_bytes_total"].value(**{"from": "origin"})
origin_sent = serve["patchwave_swarm_sent_bytes_total"].value(to="peers")
assert payload <= first_from_origin <= 2 * payload, \
    f"demo-04 received {first_from_origin} bytes of a {payload}-byte payload from the origin"
assert origin_sent >= first_from_origin, f"serve sent {origin_sent} bytes, demo-04 alone got {first_from_origin} from it"
for i, agent in agents.items():
    expect(f"agent {i} sent to the origin", agent["patchwave_swarm_sent_bytes_total"].value(to="origin"), 0)
expect("serve received", sum(serve["patchwave_swarm_received_bytes_total"].values()), 0)

# ---- agents: bundles, the pending reboot, drift, step durations
for i, agent in agents.items():
    want = "reboot-pending" if i == 4 else "installed"
    expect(f"agent {i} bundles {want}", agent["patchwave_agent_bundles"].value(state=want), 1)
    expect(f"agent {i} gossip alive", agent["patchwave_gossip_members"].value(state="alive"), 4)
    expect(f"agent {i} reboot pending", agent["patchwave_agent_reboot_pending"].value(), 1 if i == 4 else 0)
    expect(f"agent {i} drift", agent["patchwave_agent_drift_findings"].value(), 1 if i == 1 else 0)
    steps = agent["patchwave_agent_step_duration_seconds"]
    # Counters start again with the process: agents 1-3 rebooted (restarted)
    # after installing and saw only the verify after the reboot; agent 4 has
    # not rebooted yet.
    ran = ["install", "verify"] if i == 4 else ["post-reboot-verify"]
    for step in ran:
        expect(f"agent {i} {step} runs", steps.value("patchwave_agent_step_duration_seconds_count", step=step,
                                                     outcome="ok"), 1)
        seconds = steps.value("patchwave_agent_step_duration_seconds_sum", step=step, outcome="ok")
        assert 0 <= seconds < 60 and not math.isnan(seconds), f"agent {i} {step} took {seconds} s"
    expect(f"agent {i} failed steps", len(steps.values("patchwave_agent_step_duration_seconds_count", outcome="failed")), 0)
age = agents[4]["patchwave_agent_reboot_pending_seconds"].value()
assert age >= 0, f"agent 4's pending reboot is {age} s old"
print(f"check_scrape: serve {len(serve)} families, agents {len(agents[1])}; installed {installed}, "
      f"origin sent {int(origin_sent)} B, demo-04 got {int(first_from_origin)} B from it; "
      f"received since their last start: {[int(received[i]) for i in sorted(received)]} B")
