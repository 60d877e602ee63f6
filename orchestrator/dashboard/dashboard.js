// The Patchwave dashboard: polls /api/dashboard and redraws in place. Read-only:
// it only ever sends GET requests. Every text from the fleet goes in through
// textContent, never as markup.
"use strict";

(() => {
  const POLL_MS = 1500;
  const MAX_EVENTS = 500;
  const STATES = ["waiting", "downloading", "ready", "installing", "reboot-pending", "verifying", "installed", "failed"];
  // The bar's segments, left to right, and the states each covers (as `patchwave status` draws its bar).
  const SEGMENTS = [
    ["installed", ["installed"]],
    ["failed", ["failed"]],
    ["rebooting", ["reboot-pending", "verifying"]],
    ["working", ["downloading", "ready", "installing"]],
    ["waiting", ["waiting"]],
    ["silent", ["silent"]],
  ];

  let eventsAfter = 0;
  let events = [];
  let latest = null;
  let refreshes = 0;

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === undefined || value === null) continue;
      if (name === "class") node.className = value;
      else node.setAttribute(name, String(value));
    }
    for (const child of children) {
      if (child === undefined || child === null) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function since(text) {
    if (!text) return "-";
    const seconds = Math.max(0, Math.round((Date.parse(latest.time) - Date.parse(text)) / 1000));
    if (seconds < 90) return `${seconds}s ago`;
    if (seconds < 5400) return `${Math.round(seconds / 60)}m ago`;
    if (seconds < 172800) return `${Math.round(seconds / 3600)}h ago`;
    return `${Math.round(seconds / 86400)}d ago`;
  }

  function duration(seconds) {
    if (seconds < 90) return `${seconds}s`;
    if (seconds < 5400) return `${Math.round(seconds / 60)}m`;
    return `${Math.round(seconds / 3600)}h`;
  }

  function setConnection(kind, text) {
    const node = document.getElementById("connection");
    node.className = `connection connection-${kind}`;
    node.textContent = text;
  }

  // ---- rollouts: one card each, a progress bar per wave
  function waveRow(rollout, wave, index) {
    const counts = wave.counts;
    const bar = el("div", { class: "bar", title: `${wave.targeted} host(s)` });
    for (const [segment, states] of SEGMENTS) {
      const count = states.reduce((sum, state) => sum + (counts[state] || 0), 0);
      if (count === 0 || wave.targeted === 0) continue;
      const part = el("span", { class: `seg-${segment}`, title: `${segment}: ${count}` });
      part.style.width = `${(100 * count) / wave.targeted}%`;
      bar.append(part);
    }
    const flags = [wave.open ? "open" : "not open", wave.passed ? "passed" : null].filter(Boolean).join(" · ");
    const countList = el("div", { class: "wave-counts" });
    for (const state of [...STATES, "silent"]) {
      countList.append(el("span", {}, `${state} `, el("span", { class: "count", "data-state": state }, counts[state] || 0)));
    }
    return el("div", { class: "wave", "data-wave": wave.name, "data-open": wave.open, "data-passed": wave.passed },
      el("div", {}, el("span", { class: "wave-name" }, `${index + 1}. ${wave.name}`), " ",
        el("span", { class: "wave-flags" }, flags)),
      bar,
      el("div", { class: "wave-installed" },
        el("span", { class: "count", "data-count": "installed" }, counts.installed || 0), " of ",
        el("span", { class: "count", "data-count": "targeted" }, wave.targeted), " installed",
        el("span", { class: "muted" }, ` (needs ${wave.installed_needed})`)),
      countList);
  }

  function renderRollouts(status) {
    const box = document.getElementById("rollouts");
    if (status.length === 0) {
      box.replaceChildren(el("p", { class: "empty" }, "No rollouts published yet."));
      return;
    }
    const legend = el("div", { class: "legend" });
    for (const [segment, states] of SEGMENTS) legend.append(el("span", {}, el("i", { class: `seg-${segment}` }), states.join(", ")));
    const cards = [legend];
    for (const rollout of status) {
      const card = el("article", { class: "rollout", "data-rollout": rollout.rollout_id, "data-phase": rollout.phase },
        el("h3", {}, rollout.rollout_id,
          el("span", { class: `badge phase-${rollout.phase}` }, rollout.phase),
          el("span", { class: "muted" }, `v${rollout.version} · wave ${rollout.open_wave} of ${rollout.waves.length} open`
            + (rollout.emergency ? " · emergency" : "") + ` · expires ${rollout.expires}`)));
      if (rollout.reason) card.append(el("p", { class: "reason" }, rollout.reason + (rollout.by ? ` (by ${rollout.by})` : "")));
      rollout.waves.forEach((wave, index) => card.append(waveRow(rollout, wave, index)));
      cards.push(card);
    }
    box.replaceChildren(...cards);
  }

  // ---- hosts: filtered by rollout, wave and state
  function setOptions(select, values, anyLabel) {
    const chosen = select.value;
    const options = anyLabel === null ? [] : [el("option", { value: "" }, anyLabel)];
    for (const value of values) options.push(el("option", { value }, value));
    select.replaceChildren(...options);
    if ([...select.options].some((option) => option.value === chosen)) select.value = chosen;
  }

  function renderHosts() {
    if (!latest) return;
    const rolloutSelect = document.getElementById("filter-rollout");
    const waveSelect = document.getElementById("filter-wave");
    const stateFilter = document.getElementById("filter-state").value;
    setOptions(rolloutSelect, latest.status.map((rollout) => rollout.rollout_id), latest.status.length ? null : "none");
    const rolloutId = rolloutSelect.value;
    const rollout = latest.status.find((item) => item.rollout_id === rolloutId);
    setOptions(waveSelect, rollout ? rollout.waves.map((wave) => wave.name) : [], "any");
    const waveFilter = waveSelect.value;

    const rows = [];
    for (const host of latest.hosts) {
      const entry = host.rollouts.find((item) => item.rollout_id === rolloutId);
      const state = !entry ? "untargeted" : host.silent ? "silent" : entry.state;
      if (stateFilter && stateFilter !== state) continue;
      if (waveFilter && (!entry || entry.wave !== waveFilter)) continue;
      const labels = Object.entries(host.labels).map(([name, value]) => `${name}=${value}`).join(" ");
      rows.push(el("tr", { "data-host": host.host, "data-state": state, "data-wave": entry ? entry.wave : "" },
        el("td", {}, host.host),
        el("td", {}, entry ? `${entry.wave_index}. ${entry.wave}` : "-"),
        el("td", { class: `state state-${state}` }, state === "untargeted" ? "not targeted" : state),
        el("td", {}, entry && entry.since ? since(entry.since) : "-"),
        el("td", {}, host.last_heard ? since(host.last_heard) : "never"),
        el("td", { class: "labels" }, labels)));
    }
    document.querySelector("#hosts tbody").replaceChildren(...rows);
    document.getElementById("hosts-count").textContent = `${rows.length} of ${latest.hosts.length} shown`;
  }

  // ---- audit: what is not installed, per rollout
  function table(headers, rows) {
    return el("table", {},
      el("thead", {}, el("tr", {}, ...headers.map((header) => el("th", {}, header)))),
      el("tbody", {}, ...rows.map((cells) => el("tr", {}, ...cells.map((cell) => el("td", {}, cell))))));
  }

  function group(box, title, items, headers, cells) {
    box.append(el("h4", { "data-group": title }, `${title} (${items.length})`));
    if (items.length) box.append(table(headers, items.map(cells)));
  }

  function renderAudit(audit, refused) {
    const box = document.getElementById("audit");
    const parts = [];
    for (const report of audit) {
      const part = el("div", { class: "audit-rollout", "data-rollout": report.rollout_id },
        el("h3", {}, report.rollout_id,
          el("span", { class: "muted" }, `${report.installed} of ${report.targeted} targeted hosts installed`)));
      const failed = report.failed.flatMap((host) => host.bundles.map((bundle) => ({ host, bundle })));
      group(part, "failed", failed, ["Host", "Wave", "Bundle", "Step", "Rolled back", "Reason"],
        ({ host, bundle }) => [host.host, host.wave, bundle.bundle.slice(0, 12), bundle.step, bundle.rolled_back ? "yes" : "no", bundle.reason]);
      group(part, "reboot pending", report.reboot_pending, ["Host", "Wave", "Pending for", "Deadline"],
        (item) => [item.host, item.wave, duration(item.age_seconds),
          item.past_deadline ? el("span", { class: "past-deadline" }, `${item.deadline} PAST DEADLINE`) : item.deadline]);
      group(part, "in progress", report.in_progress, ["Host", "Wave", "State", "Since"],
        (item) => [item.host, item.wave, item.state, item.since ? since(item.since) : "-"]);
      group(part, "waiting", report.waiting, ["Host", "Wave"], (item) => [item.host, item.wave]);
      group(part, "silent", report.silent, ["Host", "Wave", "Last heard", "Last state"],
        (item) => [item.host, item.wave, item.last_heard ? since(item.last_heard) : "never", item.last_state]);
      group(part, "drift", report.drift, ["Host", "Path", "Expected", "Actual"],
        (item) => [item.host, item.path, item.expected.slice(0, 12), item.actual.slice(0, 12)]);
      group(part, "test-ring mirror gaps", report.mirror_gaps, ["Bundle", "Installed outside the test ring on"],
        (item) => [item.bundle.slice(0, 12), item.hosts.join(" ")]);
      parts.push(part);
    }
    const fleet = el("div", { class: "audit-fleet" });
    group(fleet, "refused, fleet-wide", refused, ["Host", "Subject", "Count", "Last", "Reason"],
      (item) => [item.host, item.subject, item.count, item.last, item.reason]);
    parts.push(fleet);
    box.replaceChildren(...parts);
  }

  // ---- events: appended as they come, newest on top
  function renderEvents(fresh) {
    if (fresh.length === 0 && events.length > 0) return;
    events = events.concat(fresh).slice(-MAX_EVENTS);
    if (fresh.length) eventsAfter = fresh[fresh.length - 1].id;
    const rows = events.slice().reverse().map((event) =>
      el("tr", { "data-kind": event.kind },
        el("td", {}, event.id), el("td", {}, event.time), el("td", {}, event.rollout_id), el("td", {}, event.kind),
        el("td", {}, event.wave === null ? "" : `${event.wave}${event.wave_name ? ". " + event.wave_name : ""}`),
        el("td", {}, event.actor), el("td", {}, event.reason)));
    document.querySelector("#events tbody").replaceChildren(...rows);
    document.getElementById("events-count").textContent = `${events.length} shown`;
  }

  async function poll() {
    try {
      const response = await fetch(`api/dashboard?events_after=${eventsAfter}`, { cache: "no-store" });
      if (response.status === 503) {
        setConnection("busy", "orchestrator busy, retrying");
        return;
      }
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      latest = await response.json();
      const serve = latest.serve || {};
      document.getElementById("serve-info").textContent =
        `serve ${String(serve.agent_id || "").slice(0, 12)} · ${serve.members_alive ?? 0} member(s) alive · ${latest.hosts.length} host(s) enrolled`;
      renderRollouts(latest.status);
      renderHosts();
      renderAudit(latest.audit, latest.refused);
      renderEvents(latest.events);
      refreshes += 1;
      document.body.dataset.refreshes = String(refreshes);
      document.body.dataset.updated = latest.time;
      setConnection("ok", `live · ${latest.time}`);
    } catch (error) {
      setConnection("down", `cannot reach patchwave serve (${error.message}); retrying`);
    } finally {
      setTimeout(poll, POLL_MS);
    }
  }

  for (const id of ["filter-rollout", "filter-wave", "filter-state"]) {
    document.getElementById(id).addEventListener("change", renderHosts);
  }
  poll();
})();
