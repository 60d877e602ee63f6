#include "orchestrator/status_report.hpp"

#include <algorithm>
#include <tuple>

#include "common/hex.hpp"
#include "orchestrator/fleet_view.hpp"
#include "rollout/wave_assignment.hpp"

namespace patchwave::orchestrator {

Result<FleetReport> evaluate_fleet(Database& db, const std::optional<std::string>& only, Timestamp now,
                                   Duration silence) {
    auto rollouts = list_rollouts(db);
    if (!rollouts) return std::unexpected(rollouts.error());
    auto views = load_host_views(db);
    if (!views) return std::unexpected(views.error());
    FleetReport report;
    report.hosts = std::move(*views);
    for (auto& stored : *rollouts) {
        if (only && stored.manifest.rollout_id != *only) continue;
        auto control = latest_control(db, stored.manifest.rollout_id);
        if (!control) return std::unexpected(control.error());
        std::optional<rollout::ControlRecord> record;
        if (*control) record = (*control)->record;
        auto state = rollout::evaluate_gate(stored.manifest, record, report.hosts, now, silence);
        report.rollouts.push_back({std::move(stored), std::move(record), std::move(state)});
    }
    if (only && report.rollouts.empty()) return fail(Errc::not_found, "no rollout \"" + *only + "\" has been published");
    return report;
}

nlohmann::json status_json(const EvaluatedRollout& item) {
    nlohmann::json waves = nlohmann::json::array();
    for (std::size_t i = 0; i < item.state.waves.size(); ++i) {
        const auto& wave = item.state.waves[i];
        nlohmann::json counts = nlohmann::json::object();
        for (const auto& [state, name] : kStatusColumns) counts[name] = wave.counts[state];
        counts["silent"] = wave.counts.silent;
        nlohmann::json entry = {{"name", wave.name},         {"open", wave.open},
                                {"targeted", wave.targeted}, {"counts", counts},
                                {"passed", wave.passed},     {"installed_needed", wave.installed_needed}};
        if (wave.passed_at) entry["passed_at"] = format_timestamp(*wave.passed_at);
        if (wave.soaked_at) entry["soaked_at"] = format_timestamp(*wave.soaked_at);
        waves.push_back(std::move(entry));
    }
    nlohmann::json out = {{"rollout_id", item.stored.manifest.rollout_id},
                          {"version", item.stored.manifest.version},
                          {"phase", rollout::to_string(item.state.phase)},
                          {"reason", item.state.reason},
                          {"open_wave", item.state.open_wave + 1},
                          {"emergency", item.stored.manifest.emergency},
                          {"expires", format_timestamp(item.stored.manifest.expires)},
                          {"waves", waves}};
    if (!item.state.by.empty()) out["by"] = item.state.by;
    return out;
}

namespace {

nlohmann::json host_json(const rollout::AuditHost& host) {
    return {{"host", host.host}, {"agent", to_hex(host.agent)}, {"wave", host.wave}};
}

}  // namespace

nlohmann::json audit_json(const rollout::AuditReport& report) {
    nlohmann::json failed = nlohmann::json::array();
    for (const auto& entry : report.failed) {
        nlohmann::json item = host_json(entry.who);
        nlohmann::json bundles = nlohmann::json::array();
        for (const auto& bundle : entry.bundles) {
            bundles.push_back({{"bundle", to_hex(bundle.bundle)},
                               {"step", bundle.step},
                               {"reason", bundle.reason},
                               {"rolled_back", bundle.rolled_back},
                               {"since", format_timestamp(bundle.since)}});
        }
        item["bundles"] = bundles;
        failed.push_back(std::move(item));
    }
    nlohmann::json reboot = nlohmann::json::array();
    for (const auto& entry : report.reboot_pending) {
        nlohmann::json item = host_json(entry.who);
        item["pending_since"] = format_timestamp(entry.pending_since);
        item["age_seconds"] = entry.age.count();
        item["deadline"] = format_timestamp(entry.deadline);
        item["past_deadline"] = entry.past_deadline;
        reboot.push_back(std::move(item));
    }
    nlohmann::json in_progress = nlohmann::json::array();
    for (const auto& entry : report.in_progress) {
        nlohmann::json item = host_json(entry.who);
        item["state"] = rollout::to_string(entry.state);
        if (entry.since) item["since"] = format_timestamp(*entry.since);
        in_progress.push_back(std::move(item));
    }
    nlohmann::json waiting = nlohmann::json::array();
    for (const auto& entry : report.waiting) waiting.push_back(host_json(entry));
    nlohmann::json silent = nlohmann::json::array();
    for (const auto& entry : report.silent) {
        nlohmann::json item = host_json(entry.who);
        item["last_heard"] = entry.last_heard ? nlohmann::json(format_timestamp(*entry.last_heard)) : nlohmann::json();
        if (entry.silent_for) item["silent_seconds"] = entry.silent_for->count();
        item["last_state"] = rollout::to_string(entry.last_state);
        silent.push_back(std::move(item));
    }
    nlohmann::json drift = nlohmann::json::array();
    for (const auto& entry : report.drift) {
        drift.push_back({{"host", entry.host},
                         {"path", entry.finding.path},
                         {"expected", entry.finding.expected},
                         {"actual", entry.finding.actual},
                         {"detected", format_timestamp(entry.finding.detected)}});
    }
    nlohmann::json mirror = nlohmann::json::array();
    for (const auto& gap : report.mirror_gaps) mirror.push_back({{"bundle", to_hex(gap.bundle)}, {"hosts", gap.hosts}});
    nlohmann::json refused = nlohmann::json::array();
    for (const auto& entry : report.refused) {
        refused.push_back({{"host", entry.host},
                           {"agent", to_hex(entry.agent)},
                           {"subject", entry.refusal.subject},
                           {"reason", entry.refusal.reason},
                           {"count", entry.refusal.count},
                           {"first", format_timestamp(entry.refusal.first)},
                           {"last", format_timestamp(entry.refusal.last)}});
    }
    return {{"rollout_id", report.rollout_id}, {"targeted", report.targeted},   {"installed", report.installed},
            {"failed", failed},                {"reboot_pending", reboot},       {"in_progress", in_progress},
            {"waiting", waiting},              {"silent", silent},               {"drift", drift},
            {"mirror_gaps", mirror},           {"refused", refused}};
}

nlohmann::json audit_all_json(const FleetReport& report, Timestamp now, Duration silence, bool fleet_refusals) {
    rollout::AuditOptions options;
    options.silence_timeout = silence;
    options.all_refusals = fleet_refusals;
    nlohmann::json all = nlohmann::json::array();
    for (const auto& item : report.rollouts)
        all.push_back(audit_json(rollout::audit_rollout(item.stored.manifest, report.hosts, now, options)));
    return all;
}

nlohmann::json hosts_json(const FleetReport& report, Timestamp now, Duration silence) {
    std::vector<const rollout::HostView*> sorted;
    for (const auto& host : report.hosts) sorted.push_back(&host);
    std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) {
        return std::tie(a->host, a->agent) < std::tie(b->host, b->agent);
    });
    nlohmann::json out = nlohmann::json::array();
    for (const rollout::HostView* host : sorted) {
        nlohmann::json labels = nlohmann::json::object();
        for (const auto& [name, value] : host->labels) labels[name] = value;
        nlohmann::json rollouts = nlohmann::json::array();
        for (const auto& item : report.rollouts) {
            const auto& manifest = item.stored.manifest;
            const auto wave = rollout::assign_wave(manifest, host->agent, host->labels);
            if (!wave) continue;
            const auto state = rollout::aggregate_state(manifest, *host);
            nlohmann::json entry = {{"rollout_id", manifest.rollout_id},
                                    {"wave", manifest.waves[*wave].name},
                                    {"wave_index", *wave + 1},
                                    {"state", rollout::to_string(state.state)}};
            entry["since"] = state.since ? nlohmann::json(format_timestamp(*state.since)) : nlohmann::json();
            rollouts.push_back(std::move(entry));
        }
        out.push_back({{"host", host->host},
                       {"agent", to_hex(host->agent)},
                       {"labels", labels},
                       {"last_heard", host->last_heard ? nlohmann::json(format_timestamp(*host->last_heard))
                                                       : nlohmann::json()},
                       {"silent", rollout::is_silent(*host, now, silence)},
                       {"rollouts", rollouts}});
    }
    return out;
}

}  // namespace patchwave::orchestrator
