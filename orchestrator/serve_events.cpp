#include "orchestrator/serve_events.hpp"

#include <spdlog/spdlog.h>

namespace patchwave::orchestrator {
namespace {

bool is_control_kind(std::string_view kind) {
    return kind == event_kind::paused || kind == event_kind::resumed || kind == event_kind::advanced
           || kind == event_kind::aborted || kind == event_kind::auto_paused;
}

}  // namespace

std::string EventRecorder::refused_key(std::string_view agent_hex, std::string_view subject, std::string_view reason) {
    return "refused/" + std::string(agent_hex) + "/" + std::string(subject) + "/" + std::string(reason);
}

std::string EventRecorder::key_of(const Event& event) {
    const auto number = [&](const char* field) -> std::optional<std::uint64_t> {
        const auto found = event.details.find(field);
        if (found == event.details.end() || !found->is_number_unsigned()) return std::nullopt;
        return found->get<std::uint64_t>();
    };
    if (event.kind == event_kind::published) {
        if (auto version = number("version")) return "published/v" + std::to_string(*version);
        return {};
    }
    if (event.kind == event_kind::wave_opened || event.kind == event_kind::wave_passed) {
        if (event.wave) return event.kind + "/" + std::to_string(*event.wave);
        return {};
    }
    if (event.kind == event_kind::completed || event.kind == event_kind::expired) return event.kind;
    if (event.kind == event_kind::refused) {
        const auto agent = event.details.find("agent");
        const auto subject = event.details.find("subject");
        if (agent == event.details.end() || !agent->is_string() || subject == event.details.end()
            || !subject->is_string())
            return {};
        return refused_key(agent->get<std::string>(), subject->get<std::string>(), event.reason);
    }
    if (is_control_kind(event.kind)) {
        if (auto sequence = number("sequence")) return "control/" + std::to_string(*sequence);
    }
    return {};
}

void EventRecorder::remember(const Event& event, const std::string& key) {
    if (!key.empty()) announced_[event.rollout_id].insert(key);
    if (is_control_kind(event.kind)) {
        const auto found = event.details.find("sequence");
        if (found != event.details.end() && found->is_number_unsigned()) {
            auto& highest = control_sequences_[event.rollout_id];
            highest = std::max(highest, found->get<std::uint64_t>());
        }
    }
}

Status EventRecorder::load(Database& db) {
    std::int64_t after = 0;
    // Bounded: the log is read in pages until one comes back short.
    for (std::size_t pages = 0; pages < 1'000'000; ++pages) {
        auto events = list_events(db, after, 1000);
        if (!events) return std::unexpected(events.error().with_context("reading the event log"));
        for (const auto& event : *events) {
            remember(event, key_of(event));
            after = std::max(after, event.id);
        }
        if (events->size() < 1000) break;
    }
    return {};
}

bool EventRecorder::announced(const std::string& rollout_id, const std::string& key) const {
    const auto found = announced_.find(rollout_id);
    return found != announced_.end() && found->second.contains(key);
}

std::uint64_t EventRecorder::control_sequence(const std::string& rollout_id) const {
    const auto found = control_sequences_.find(rollout_id);
    return found == control_sequences_.end() ? 0 : found->second;
}

Status EventRecorder::record(Database& db, Event event, const std::string& key) {
    auto stored = append_event(db, std::move(event));
    if (!stored) return std::unexpected(stored.error().with_context("recording an event"));
    remember(*stored, key);
    spdlog::info("event {} rollout {}{}{}{}", stored->kind, stored->rollout_id,
                 stored->wave ? " wave " + std::to_string(*stored->wave + 1) : std::string(),
                 stored->actor.empty() ? std::string() : " by " + stored->actor,
                 stored->reason.empty() ? std::string() : ": " + stored->reason);
    if (hooks_ != nullptr) hooks_->emit(*stored);
    return {};
}

}  // namespace patchwave::orchestrator
