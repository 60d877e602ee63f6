// `patchwave rollout plan|publish|pause|resume|abort|advance`: turning a
// rollout file into a signed manifest, and the operator's signed controls.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <ostream>

#include "common/file_io.hpp"
#include "common/hex.hpp"
#include "orchestrator/cli.hpp"
#include "orchestrator/rollout_control.hpp"
#include "orchestrator/rollout_publisher.hpp"
#include "orchestrator/serve_notify.hpp"
#include "orchestrator/table.hpp"

namespace patchwave::orchestrator {
namespace {

constexpr std::uint64_t kMaxRolloutFile = 1 << 20;

Result<std::string> read_rollout_file(const std::string& path) {
    auto text = read_file(path, kMaxRolloutFile);
    if (!text) return std::unexpected(text.error());
    return text;
}

nlohmann::json plan_json(const RolloutPlan& plan) {
    nlohmann::json bundles = nlohmann::json::array();
    for (const auto& clearance : plan.bundles) {
        nlohmann::json refusals = nlohmann::json::object();
        for (std::size_t i = 0; i < clearance.refusals.size(); ++i) {
            if (!clearance.refusals[i].empty()) refusals[plan.manifest.waves[i].name] = clearance.refusals[i];
        }
        bundles.push_back({{"id", to_hex(clearance.bundle.id)},
                           {"name", clearance.bundle.meta.name},
                           {"version", clearance.bundle.meta.version},
                           {"triage", rollout::to_string(clearance.bundle.triage)},
                           {"approvals", clearance.bundle.approvals.size()},
                           {"refused_in_waves", refusals}});
    }
    nlohmann::json waves = nlohmann::json::array();
    for (const auto& wave : plan.waves) waves.push_back({{"name", wave.name}, {"hosts", wave.hosts}});
    return {{"rollout_id", plan.manifest.rollout_id},
            {"version", plan.next_version},
            {"emergency", plan.manifest.emergency},
            {"expires", format_timestamp(plan.manifest.expires)},
            {"bundles", bundles},
            {"waves", waves},
            {"unassigned_hosts", plan.unassigned},
            {"publishable", std::all_of(plan.bundles.begin(), plan.bundles.end(), [](const BundleClearance& c) {
                 return std::all_of(c.refusals.begin(), c.refusals.end(), [](const std::string& r) { return r.empty(); });
             })}};
}

void print_plan(std::ostream& out, const RolloutPlan& plan) {
    out << "rollout " << plan.manifest.rollout_id << " (would be v" << plan.next_version << ")"
        << (plan.manifest.emergency ? ", EMERGENCY" : "") << ", expires " << format_timestamp(plan.manifest.expires)
        << "\n\nbundles, applied in this order with one reboot:\n";
    Table bundles({"#", "id", "name", "version", "triage", "approvals", "refused in"});
    for (std::size_t i = 0; i < plan.bundles.size(); ++i) {
        const auto& clearance = plan.bundles[i];
        std::string refused;
        for (std::size_t wave = 0; wave < clearance.refusals.size(); ++wave) {
            if (clearance.refusals[wave].empty()) continue;
            refused += (refused.empty() ? "" : ", ") + plan.manifest.waves[wave].name;
        }
        bundles.add({std::to_string(i + 1), rollout::short_hex(clearance.bundle.id), clearance.bundle.meta.name,
                     clearance.bundle.meta.version, std::string(rollout::to_string(clearance.bundle.triage)),
                     std::to_string(clearance.bundle.approvals.size()), refused.empty() ? "-" : refused});
    }
    bundles.print(out);
    out << "\nwaves over the " << [&] {
        std::size_t known = plan.unassigned.size();
        for (const auto& wave : plan.waves) known += wave.hosts.size();
        return known;
    }() << " known hosts:\n";
    Table waves({"#", "wave", "hosts", "who"});
    for (std::size_t i = 0; i < plan.waves.size(); ++i) {
        std::string who;
        for (std::size_t h = 0; h < plan.waves[i].hosts.size() && h < 8; ++h) who += (h ? " " : "") + plan.waves[i].hosts[h];
        if (plan.waves[i].hosts.size() > 8) who += " ...";
        waves.add({std::to_string(i + 1), plan.waves[i].name, std::to_string(plan.waves[i].hosts.size()),
                   who.empty() ? "-" : who});
    }
    waves.add({"-", "(no wave)", std::to_string(plan.unassigned.size()), "not targeted"});
    waves.print(out);
    for (const auto& clearance : plan.bundles) {
        for (const auto& refusal : clearance.refusals) {
            if (!refusal.empty()) {
                out << "\nnot publishable yet: " << refusal << "\n";
                return;
            }
        }
    }
}

void register_plan_publish(CLI::App& rollout, CliContext& context) {
    struct Options {
        std::string file;
        bool json = false;
    };
    for (const bool publish : {false, true}) {
        auto options = std::make_shared<Options>();
        auto* command = publish
                            ? rollout.add_subcommand("publish", "check triage and approvals, sign and publish; prints the rollout id")
                            : rollout.add_subcommand("plan", "validate a rollout file and preview its waves; publishes nothing");
        command->add_option("FILE", options->file, "the rollout file (rollout.toml)")->required();
        command->add_flag("--json", options->json, "machine-readable output on stdout");
        command->callback([&context, options, publish] {
            context.command = [&context, options, publish]() -> Status {
                auto now = context.now();
                if (!now) return std::unexpected(now.error());
                auto text = read_rollout_file(options->file);
                if (!text) return std::unexpected(text.error());
                auto home = context.open_home(publish ? LockMode::exclusive : LockMode::shared);
                if (!home) return std::unexpected(home.error());
                if (!publish) {
                    auto plan = plan_rollout(*home, *text, options->file, *now);
                    if (!plan) return std::unexpected(plan.error());
                    if (options->json) {
                        *context.out << plan_json(*plan).dump(2) << "\n";
                    } else {
                        print_plan(*context.out, *plan);
                    }
                    return {};
                }
                auto published = publish_rollout(*home, *text, options->file, *now);
                if (!published) return std::unexpected(published.error());
                const auto& manifest = published->manifest;
                if (options->json) {
                    nlohmann::json bundles = nlohmann::json::array();
                    for (const auto& bundle : manifest.bundles) bundles.push_back(to_hex(bundle.id));
                    *context.out << nlohmann::json{{"rollout_id", manifest.rollout_id},
                                                   {"version", manifest.version},
                                                   {"bundles", bundles},
                                                   {"waves", manifest.waves.size()},
                                                   {"published", format_timestamp(manifest.published)},
                                                   {"expires", format_timestamp(manifest.expires)}}
                                        .dump(2)
                                 << "\n";
                } else {
                    *context.out << manifest.rollout_id << "\n";
                    *context.err << "published rollout " << manifest.rollout_id << " v" << manifest.version
                                 << ": " << manifest.bundles.size() << " bundle(s), " << manifest.waves.size()
                                 << " waves; wave \"" << manifest.waves.front().name << "\" is open\n";
                }
                notify_serve(context.home_path());
                return {};
            };
        });
    }
}

std::string default_operator() {
    if (const char* user = std::getenv("USER"); user != nullptr && *user != '\0') return user;
    return "operator";
}

void register_controls(CLI::App& rollout, CliContext& context) {
    using rollout::ControlAction;
    struct Options {
        std::string id;
        std::string reason;
        std::string operator_name = default_operator();
        std::optional<std::string> to_wave;
    };
    const std::pair<ControlAction, const char*> actions[] = {
        {ControlAction::pause, "pause a rollout: no host starts a new step"},
        {ControlAction::resume, "resume a paused rollout (acknowledges the failures so far)"},
        {ControlAction::abort, "abort a rollout for good"},
        {ControlAction::advance, "open the next (or the named) wave now, whatever the gate says"},
    };
    for (const auto& [action, help] : actions) {
        auto options = std::make_shared<Options>();
        auto* command = rollout.add_subcommand(std::string(rollout::to_string(action)), help);
        command->add_option("ID", options->id, "the rollout id")->required();
        command->add_option("--reason", options->reason, "why, for the audit trail and the fleet's events");
        command->add_option("--operator", options->operator_name, "who (default: $USER)");
        if (action == ControlAction::advance) {
            command->add_option("--to-wave", options->to_wave, "a wave number (1 = first) or name");
        }
        command->callback([&context, options, action] {
            context.command = [&context, options, action]() -> Status {
                auto now = context.now();
                if (!now) return std::unexpected(now.error());
                auto home = context.open_home(LockMode::exclusive);
                if (!home) return std::unexpected(home.error());
                ControlRequest request{options->id, action, options->to_wave, options->reason,
                                       options->operator_name, *now};
                auto issued = issue_control(*home, request);
                if (!issued) return std::unexpected(issued.error());
                auto manifest = latest_manifest(home->db(), options->id);
                const auto& record = issued->record;
                *context.out << "rollout " << record.rollout_id << ": " << rollout::to_string(action) << " (control #"
                             << record.sequence << ")";
                if (manifest && *manifest && record.open_wave < (*manifest)->manifest.waves.size()) {
                    *context.out << "; open through wave " << record.open_wave + 1 << " \""
                                 << (*manifest)->manifest.waves[record.open_wave].name << "\"";
                }
                *context.out << "\n";
                notify_serve(context.home_path());
                return {};
            };
        });
    }
}

}  // namespace

void register_rollout_commands(CLI::App& app, CliContext& context) {
    auto* rollout = app.add_subcommand("rollout", "plan, publish and control rollouts");
    rollout->require_subcommand(1);
    register_plan_publish(*rollout, context);
    register_controls(*rollout, context);
}

}  // namespace patchwave::orchestrator
