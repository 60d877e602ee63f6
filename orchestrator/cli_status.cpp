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
#include "orchestrator/status_report.hpp"
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

void print_status(std::ostream& out, const std::vector<EvaluatedRollout>& items) {
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
        for (const auto& column : kStatusColumns) headers.emplace_back(column.second);
        headers.emplace_back("silent");
        headers.emplace_back("gate");
        headers.emplace_back("progress");
        Table table(headers);
        for (const auto& wave : item.state.waves) {
            std::vector<std::string> row{wave.name, wave.open ? "yes" : "no", std::to_string(wave.targeted)};
            for (const auto& column : kStatusColumns) row.push_back(std::to_string(wave.counts[column.first]));
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
                auto report = evaluate_fleet(home->db(), options->rollout, *now, *silence);
                if (!report) return std::unexpected(report.error());
                const auto* items = &report->rollouts;
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
            auto report = evaluate_fleet(home->db(), options->rollout, *now, *silence);
            if (!report) return std::unexpected(report.error());
            const auto& hosts = report->hosts;
            // Over all rollouts, refusals are the fleet's: also forged rollout
            // ids, roots and certificates, which belong to no rollout here.
            const bool fleet_refusals = !options->rollout;
            if (options->json) {
                *context.out << audit_all_json(*report, *now, *silence, fleet_refusals).dump(2) << "\n";
                return {};
            }
            rollout::AuditOptions audit_options;
            audit_options.silence_timeout = *silence;
            audit_options.all_refusals = fleet_refusals;
            for (const auto& item : report->rollouts) {
                print_audit(*context.out, rollout::audit_rollout(item.stored.manifest, hosts, *now, audit_options),
                            !fleet_refusals);
                *context.out << "\n";
            }
            if (report->rollouts.empty()) *context.out << "no rollouts published yet\n";
            if (fleet_refusals) {
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
