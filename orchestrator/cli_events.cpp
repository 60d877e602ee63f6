// `patchwave events`: the event log (published, waves opened and passed, pauses, advances, aborts ...), oldest
// first, as lines or JSON.
#include <ostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "orchestrator/cli.hpp"
#include "orchestrator/event_log.hpp"

namespace patchwave::orchestrator {
namespace {

// TIME  ROLLOUT  KIND  wave N  by ACTOR: REASON (parts without a value left out).
void print_event(std::ostream& out, const Event& event) {
    out << format_timestamp(event.time) << "  " << event.rollout_id << "  " << event.kind;
    if (event.wave) {
        out << "  wave " << (*event.wave + 1);
        if (event.wave_name) out << " (" << *event.wave_name << ")";
    }
    if (!event.actor.empty()) out << "  by " << event.actor;
    if (!event.reason.empty()) out << (event.actor.empty() ? "  " : ": ") << event.reason;
    out << "\n";
}

}  // namespace

void register_events_commands(CLI::App& app, CliContext& context) {
    struct Options {
        std::optional<std::string> rollout;
        bool json = false;
        std::int64_t after = 0;
        std::size_t limit = 1000;
    };
    auto options = std::make_shared<Options>();
    auto* command = app.add_subcommand("events", "the event log: what happened to rollouts, oldest first");
    command->add_option("--rollout", options->rollout, "only this rollout's events");
    command->add_flag("--json", options->json, "machine-readable output on stdout");
    command->add_option("--after", options->after, "only events with an id above this (to follow the log)")
        ->check(CLI::NonNegativeNumber);
    command->add_option("--limit", options->limit, "at most this many events")->check(CLI::Range(1, 1'000'000));
    command->callback([&context, options] {
        context.command = [&context, options]() -> Status {
            auto home = context.open_home(LockMode::shared);
            if (!home) return std::unexpected(home.error());
            auto events = list_events(home->db(), options->after, options->limit, options->rollout);
            if (!events) return std::unexpected(events.error());
            if (options->json) {
                nlohmann::json out = nlohmann::json::array();
                for (const auto& event : *events)
                    out.push_back(event.to_json());
                *context.out << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
                return {};
            }
            if (events->empty()) {
                *context.out << "no events" << (options->rollout ? " for rollout " + *options->rollout : "")
                             << (options->after > 0 ? " after id " + std::to_string(options->after) : "") << "\n";
                return {};
            }
            for (const auto& event : *events)
                print_event(*context.out, event);
            return {};
        };
    });
}

}  // namespace patchwave::orchestrator
