#include "agent/status_view.hpp"

#include <sstream>

namespace patchwave::agent {
namespace {

using nlohmann::json;

json time_or_null(const std::optional<Timestamp>& time) {
    return time ? json(format_timestamp(*time)) : json(nullptr);
}

}  // namespace

json status_view_json(const StatusViewInput& input) {
    const JournalState& journal = *input.journal;
    json rollouts = json::array();
    for (const auto& rollout : journal.rollouts) {
        json bundles = json::array();
        for (const auto& bundle : rollout.bundles) {
            auto name = input.names.find(bundle.id);
            bundles.push_back(json{{"id", rollout::to_hex(bundle.id)},
                                   {"name", name == input.names.end() ? json(nullptr) : json(name->second)},
                                   {"state", rollout::to_string(bundle.state)},
                                   {"since", format_timestamp(bundle.since)},
                                   {"step", bundle.step},
                                   {"failed_step", bundle.failed_step},
                                   {"failure_reason", bundle.failure_reason},
                                   {"rolled_back", bundle.rolled_back},
                                   {"attempts", bundle.attempts},
                                   {"bytes_done", bundle.bytes_done},
                                   {"bytes_total", bundle.bytes_total}});
        }
        auto note = input.notes.find(rollout.rollout_id);
        rollouts.push_back(json{{"rollout_id", rollout.rollout_id},
                                {"manifest_version", rollout.manifest_version},
                                {"note", note == input.notes.end() ? "" : note->second},
                                {"bundles", std::move(bundles)}});
    }
    json reboot;
    if (input.reboot) {
        reboot = json{{"pending", input.reboot->pending},
                      {"pending_since", time_or_null(input.reboot->pending_since)},
                      {"deadline", time_or_null(input.reboot->deadline)},
                      {"scheduled_for", time_or_null(input.reboot->scheduled_for)},
                      {"deferrals_used", input.reboot->deferrals_used}};
    } else {
        bool pending = false;
        for (const auto& rollout : journal.rollouts)
            for (const auto& bundle : rollout.bundles) pending = pending || bundle.state == rollout::HostState::reboot_pending;
        reboot = json{{"pending", pending},
                      {"pending_since", nullptr},
                      {"deadline", nullptr},
                      {"scheduled_for", nullptr},
                      {"deferrals_used", journal.reboot.deferrals_used}};
    }
    reboot["deferrals_left"] = input.deferrals_left ? json(*input.deferrals_left) : json(nullptr);
    reboot["deferred_until"] = time_or_null(journal.reboot.deferred_until);
    reboot["note"] = input.reboot_note;
    json drift = json::array();
    for (const auto& finding : journal.drift) {
        drift.push_back(json{{"path", finding.path},
                             {"expected", finding.expected},
                             {"actual", finding.actual},
                             {"bundle", finding.bundle ? json(rollout::to_hex(*finding.bundle)) : json(nullptr)},
                             {"detected", format_timestamp(finding.detected)}});
    }
    json refused = json::array();
    for (const auto& refusal : input.refused) refused.push_back(rollout::refusal_to_json(refusal));
    return json{{"running", input.running}, {"agent", input.agent},     {"host", input.host},
                {"boot_id", input.boot_id}, {"rollouts", std::move(rollouts)}, {"reboot", std::move(reboot)},
                {"drift", std::move(drift)}, {"refused", std::move(refused)}};
}

std::string status_view_text(const json& view) {
    std::ostringstream out;
    out << "agent " << view.value("host", std::string()) << " (" << view.value("agent", std::string()) << ")"
        << (view.value("running", false) ? "" : " -- daemon not running, from the journal") << "\n";
    for (const auto& rollout : view["rollouts"]) {
        out << "rollout " << rollout["rollout_id"].get<std::string>() << " (manifest v"
            << rollout["manifest_version"].get<std::uint64_t>() << ")";
        const std::string note = rollout["note"].get<std::string>();
        if (!note.empty()) out << ": " << note;
        out << "\n";
        for (const auto& bundle : rollout["bundles"]) {
            out << "  " << bundle["id"].get<std::string>().substr(0, 12) << "  ";
            if (!bundle["name"].is_null()) out << bundle["name"].get<std::string>() << "  ";
            out << bundle["state"].get<std::string>() << " since " << bundle["since"].get<std::string>();
            if (bundle["state"] == "failed") {
                out << " at " << bundle["failed_step"].get<std::string>() << " ("
                    << (bundle["rolled_back"].get<bool>() ? "rolled back" : "not rolled back")
                    << "): " << bundle["failure_reason"].get<std::string>();
            }
            out << "\n";
        }
    }
    const json& reboot = view["reboot"];
    if (reboot["pending"].get<bool>()) {
        out << "reboot pending";
        if (!reboot["pending_since"].is_null()) out << " since " << reboot["pending_since"].get<std::string>();
        if (!reboot["deadline"].is_null()) out << ", deadline " << reboot["deadline"].get<std::string>();
        if (!reboot["scheduled_for"].is_null()) out << ", expected " << reboot["scheduled_for"].get<std::string>();
        out << "; deferrals used " << reboot["deferrals_used"].get<std::uint32_t>();
        if (!reboot["deferrals_left"].is_null()) out << ", left " << reboot["deferrals_left"].get<std::uint32_t>();
        out << "\n";
        if (!reboot["note"].get<std::string>().empty()) out << "  " << reboot["note"].get<std::string>() << "\n";
    } else {
        out << "no reboot pending\n";
    }
    for (const auto& finding : view["drift"]) {
        out << "drift " << finding["path"].get<std::string>() << ": expected " << finding["expected"].get<std::string>()
            << ", found " << finding["actual"].get<std::string>() << " (noticed " << finding["detected"].get<std::string>()
            << ")\n";
    }
    // Older daemons answer without the field.
    for (const auto& refusal : view.value("refused", json::array())) {
        const auto count = refusal["count"].get<std::uint32_t>();
        out << "refused " << refusal["subject"].get<std::string>() << ": " << refusal["reason"].get<std::string>()
            << " (" << count << (count == 1 ? " time" : " times") << ", last " << refusal["last"].get<std::string>()
            << ")\n";
    }
    return out.str();
}

}  // namespace patchwave::agent
