// `patchwave status` and `patchwave audit`: per-wave counts by host state, and
// every targeted host that is not installed, from the database and the gate.
#include <CLI/CLI.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <ostream>
#include <thread>
#include <unistd.h>

#include "common/duration.hpp"
#include "common/hex.hpp"
#include "orchestrator/cli.hpp"
#include "orchestrator/fleet_view.hpp"
#include "orchestrator/rollout_store.hpp"
#include "orchestrator/table.hpp"
#include "rollout/audit.hpp"
#include "rollout/gate.hpp"

namespace patchwave::orchestrator {
namespace {

// A fixed-width bar of the wave's hosts by state: '#' installed, '!' failed,
// '+' reboot-pending or verifying, '~' fetching or installing, '.' waiting or
// silent. Each host gets its share of the 20 cells (rounded down, the rest
// is '.'), so a glance shows how far a wave is and what holds it up.
std::string progress_bar(const rollout::WaveProgress& wave) {
    constexpr std::size_t kWidth = 20;
    if (wave.targeted == 0) return "[" + std::string(kWidth, ' ') + "]";
    using rollout::HostState;
    const std::pair<std::size_t, char> parts[] = {
        {wave.counts[HostState::installed], '#'},
        {wave.counts[HostState::failed], '!'},
        {wave.counts[HostState::reboot_pending] + wave.counts[HostState::verifying], '+'},
        {wave.counts[HostState::downloading] + wave.counts[HostState::ready] + wave.counts[HostState::installing], '~'},
    };
    std::string bar;
    for (const auto& [count, mark] : parts) bar.append(count * kWidth / wave.targeted, mark);
    if (bar.size() > kWidth) bar.resize(kWidth);
    bar.append(kWidth - bar.size(), '.');
    return "[" + bar + "]";
}


using rollout::HostState;

// The states CLI.md names for status, in display order.
constexpr std::array<std::pair<HostState, const char*>, 8> kColumns{{{HostState::waiting, "waiting"},
                                                                     {HostState::downloading, "downloading"},
                                                                     {HostState::ready, "ready"},
                                                                     {HostState::installing, "installing"},
                                                                     {HostState::reboot_pending, "reboot-pending"},
                                                                     {HostState::verifying, "verifying"},
                                                                     {HostState::installed, "installed"},
                                                                     {HostState::failed, "failed"}}};

struct Evaluated {
    StoredManifest stored;
    std::optional<rollout::ControlRecord> control;
    rollout::RolloutState state;
};

Result<std::vector<Evaluated>> evaluate(Database& db, const std::optional<std::string>& only, Timestamp now,
                                        Duration silence, std::vector<rollout::HostView>& hosts) {
    auto rollouts = list_rollouts(db);
    if (!rollouts) return std::unexpected(rollouts.error());
    auto views = load_host_views(db);
    if (!views) return std::unexpected(views.error());
    hosts = std::move(*views);
    std::vector<Evaluated> result;
    for (auto& stored : *rollouts) {
        if (only && stored.manifest.rollout_id != *only) continue;
        auto control = latest_control(db, stored.manifest.rollout_id);
        if (!control) return std::unexpected(control.error());
        std::optional<rollout::ControlRecord> record;
        if (*control) record = (*control)->record;
        auto state = rollout::evaluate_gate(stored.manifest, record, hosts, now, silence);
        result.push_back({std::move(stored), std::move(record), std::move(state)});
    }
    if (only && result.empty()) return fail(Errc::not_found, "no rollout \"" + *only + "\" has been published");
    return result;
}

nlohmann::json status_json(const Evaluated& item) {
    nlohmann::json waves = nlohmann::json::array();
    for (std::size_t i = 0; i < item.state.waves.size(); ++i) {
        const auto& wave = item.state.waves[i];
        nlohmann::json counts = nlohmann::json::object();
        for (const auto& [state, name] : kColumns) counts[name] = wave.counts[state];
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

void print_status(std::ostream& out, const std::vector<Evaluated>& items) {
    if (items.empty()) {
        out << "no rollouts published yet (patchwave rollout publish FILE)\n";
        return;
    }
    for (const auto& item : items) {
        const auto& manifest = item.stored.manifest;
        out << "rollout " << manifest.rollout_id << " v" << manifest.version << ": "
            << rollout::to_string(item.state.phase);
        if (!item.state.reason.empty()) out << " (" << item.state.reason << ")";
        if (!item.state.by.empty()) out << " by " << item.state.by;
        out << "\n";
        std::vector<std::string> headers{"wave", "open", "targeted"};
        for (const auto& column : kColumns) headers.emplace_back(column.second);
        headers.emplace_back("silent");
        headers.emplace_back("gate");
        headers.emplace_back("progress");
        Table table(headers);
        for (const auto& wave : item.state.waves) {
            std::vector<std::string> row{wave.name, wave.open ? "yes" : "no", std::to_string(wave.targeted)};
            for (const auto& column : kColumns) row.push_back(std::to_string(wave.counts[column.first]));
            row.push_back(std::to_string(wave.counts.silent));
            row.push_back(wave.passed ? "passed" : std::to_string(wave.counts[HostState::installed]) + "/" +
                                                        std::to_string(wave.installed_needed) + " installed");
            row.push_back(progress_bar(wave));
            table.add(std::move(row));
        }
        table.print(out);
        out << "\n";
    }
}

void register_status(CLI::App& app, CliContext& context) {
    struct Options {
        std::optional<std::string> rollout;
        bool json = false;
        bool watch = false;
        std::string silence = "15m";
        std::string interval = "2s";
    };
    auto options = std::make_shared<Options>();
    auto* command = app.add_subcommand("status", "per wave: targeted hosts and how many are in each state");
    command->add_option("ROLLOUT", options->rollout, "one rollout id (default: all)");
    command->add_flag("--json", options->json, "machine-readable output on stdout");
    command->add_flag("--watch", options->watch, "refresh in place until interrupted");
    command->add_option("--silence", options->silence, "a host not heard from for this long is silent");
    command->add_option("--interval", options->interval, "--watch refresh interval");
    command->callback([&context, options] {
        context.command = [&context, options]() -> Status {
            auto silence = parse_duration(options->silence);
            if (!silence) return std::unexpected(silence.error().with_context("--silence"));
            auto interval = parse_duration(options->interval);
            if (!interval || interval->count() <= 0) {
                return fail(Errc::invalid_argument, "--interval: must be a duration above 0, e.g. 2s");
            }
            const bool redraw = options->watch && !options->json && ::isatty(STDOUT_FILENO) != 0;
            // --watch runs until interrupted; the loop is the command itself.
            for (;;) {
                auto now = context.now();
                if (!now) return std::unexpected(now.error());
                auto home = context.open_home(LockMode::shared);
                if (!home) return std::unexpected(home.error());
                std::vector<rollout::HostView> hosts;
                auto items = evaluate(home->db(), options->rollout, *now, *silence, hosts);
                if (!items) return std::unexpected(items.error());
                if (redraw) *context.out << "\x1b[H\x1b[2J" << "patchwave status  " << format_timestamp(*now) << "\n\n";
                if (options->json) {
                    nlohmann::json all = nlohmann::json::array();
                    for (const auto& item : *items) all.push_back(status_json(item));
                    *context.out << all.dump(2) << "\n";
                } else {
                    print_status(*context.out, *items);
                }
                context.out->flush();
                if (!options->watch) return {};
                std::this_thread::sleep_for(*interval);
            }
        };
    });
}

std::string age(Duration duration) { return format_duration(duration); }

nlohmann::json host_json(const rollout::AuditHost& host) {
    return {{"host", host.host}, {"agent", to_hex(host.agent)}, {"wave", host.wave}};
}

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

void print_refused(std::ostream& out, const char* title, const std::vector<rollout::RefusedEntry>& refused) {
    out << "\n" << title << " (" << refused.size() << ")\n";
    if (refused.empty()) return;
    Table table({"host", "subject", "count", "last", "reason"});
    for (const auto& entry : refused) {
        table.add({entry.host, entry.refusal.subject, std::to_string(entry.refusal.count),
                   format_timestamp(entry.refusal.last), entry.refusal.reason});
    }
    table.print(out);
}

/// `with_refused`: the report's refusals are its own (audit --rollout), not the fleet's.
void print_audit(std::ostream& out, const rollout::AuditReport& report, bool with_refused) {
    out << "rollout " << report.rollout_id << ": " << report.installed << " of " << report.targeted
        << " targeted hosts installed\n";
    const auto section = [&](const char* title, std::size_t count) {
        out << "\n" << title << " (" << count << ")\n";
        return count > 0;
    };
    if (section("failed", report.failed.size())) {
        Table table({"host", "wave", "bundle", "step", "rolled back", "reason"});
        for (const auto& entry : report.failed) {
            for (const auto& bundle : entry.bundles) {
                table.add({entry.who.host, entry.who.wave, rollout::short_hex(bundle.bundle), bundle.step,
                           bundle.rolled_back ? "yes" : "no", bundle.reason});
            }
        }
        table.print(out);
    }
    if (section("reboot pending", report.reboot_pending.size())) {
        Table table({"host", "wave", "pending for", "deadline", ""});
        for (const auto& entry : report.reboot_pending) {
            table.add({entry.who.host, entry.who.wave, age(entry.age), format_timestamp(entry.deadline),
                       entry.past_deadline ? "PAST DEADLINE" : ""});
        }
        table.print(out);
    }
    if (section("in progress", report.in_progress.size())) {
        Table table({"host", "wave", "state", "since"});
        for (const auto& entry : report.in_progress) {
            table.add({entry.who.host, entry.who.wave, std::string(rollout::to_string(entry.state)),
                       entry.since ? format_timestamp(*entry.since) : "-"});
        }
        table.print(out);
    }
    if (section("waiting", report.waiting.size())) {
        Table table({"host", "wave"});
        for (const auto& entry : report.waiting) table.add({entry.host, entry.wave});
        table.print(out);
    }
    if (section("silent", report.silent.size())) {
        Table table({"host", "wave", "last heard", "silent for"});
        for (const auto& entry : report.silent) {
            table.add({entry.who.host, entry.who.wave,
                       entry.last_heard ? format_timestamp(*entry.last_heard) : "never",
                       entry.silent_for ? age(*entry.silent_for) : "-"});
        }
        table.print(out);
    }
    if (section("drift", report.drift.size())) {
        Table table({"host", "path", "expected", "actual"});
        for (const auto& entry : report.drift) {
            table.add({entry.host, entry.finding.path, entry.finding.expected.substr(0, 12),
                       entry.finding.actual.substr(0, 12)});
        }
        table.print(out);
    }
    if (section("test-ring mirror gaps", report.mirror_gaps.size())) {
        Table table({"bundle", "installed outside the test ring on"});
        for (const auto& gap : report.mirror_gaps) {
            std::string hosts;
            for (const auto& host : gap.hosts) hosts += (hosts.empty() ? "" : " ") + host;
            table.add({rollout::short_hex(gap.bundle), hosts});
        }
        table.print(out);
    }
    if (with_refused) print_refused(out, "refused", report.refused);
}

void register_audit(CLI::App& app, CliContext& context) {
    struct Options {
        std::optional<std::string> rollout;
        bool json = false;
        std::string silence = "15m";
    };
    auto options = std::make_shared<Options>();
    auto* command = app.add_subcommand(
        "audit",
        "every targeted host not installed: failed, reboot pending, in progress, waiting, silent; drift; mirror gaps; "
        "refusals");
    command->add_option("--rollout", options->rollout, "one rollout id (default: all)");
    command->add_flag("--json", options->json, "machine-readable output on stdout");
    command->add_option("--silence", options->silence, "a host not heard from for this long is silent");
    command->callback([&context, options] {
        context.command = [&context, options]() -> Status {
            auto now = context.now();
            if (!now) return std::unexpected(now.error());
            auto silence = parse_duration(options->silence);
            if (!silence) return std::unexpected(silence.error().with_context("--silence"));
            auto home = context.open_home(LockMode::shared);
            if (!home) return std::unexpected(home.error());
            std::vector<rollout::HostView> hosts;
            auto items = evaluate(home->db(), options->rollout, *now, *silence, hosts);
            if (!items) return std::unexpected(items.error());
            rollout::AuditOptions audit_options;
            audit_options.silence_timeout = *silence;
            // Over all rollouts, refusals are the fleet's: also forged rollout
            // ids, roots and certificates, which belong to no rollout here.
            audit_options.all_refusals = !options->rollout;
            nlohmann::json all = nlohmann::json::array();
            for (const auto& item : *items) {
                const auto report = rollout::audit_rollout(item.stored.manifest, hosts, *now, audit_options);
                if (options->json) {
                    all.push_back(audit_json(report));
                } else {
                    print_audit(*context.out, report, !audit_options.all_refusals);
                    *context.out << "\n";
                }
            }
            if (options->json) *context.out << all.dump(2) << "\n";
            if (!options->json && items->empty()) *context.out << "no rollouts published yet\n";
            if (!options->json && audit_options.all_refusals) {
                print_refused(*context.out, "refused, fleet-wide", rollout::collect_refusals(hosts));
            }
            return {};
        };
    });
}

}  // namespace

void register_status_commands(CLI::App& app, CliContext& context) {
    register_status(app, context);
    register_audit(app, context);
}

}  // namespace patchwave::orchestrator
