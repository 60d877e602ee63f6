#include "rollout/control_record.hpp"

#include "rollout/document_json.hpp"
#include "rollout/ids.hpp"
#include "rollout/manifest.hpp"

namespace patchwave::rollout {
namespace {

constexpr std::string_view kDocument = "control record";

}  // namespace

std::string_view to_string(ControlAction action) {
    switch (action) {
        case ControlAction::pause: return "pause";
        case ControlAction::resume: return "resume";
        case ControlAction::advance: return "advance";
        case ControlAction::abort: return "abort";
    }
    return "unknown";
}

Result<ControlAction> control_action_from_string(std::string_view text) {
    for (ControlAction action : {ControlAction::pause, ControlAction::resume, ControlAction::advance,
                                 ControlAction::abort}) {
        if (to_string(action) == text) return action;
    }
    return fail(Errc::invalid_argument, "\"" + std::string(text) + "\" is not pause, resume, advance or abort");
}

std::string ControlRecord::to_json() const {
    const nlohmann::json document = {
        {"rollout_id", rollout_id},
        {"sequence", sequence},
        {"action", std::string(to_string(action))},
        {"open_wave", open_wave},
        {"reason", reason},
        {"operator", operator_name},
        {"time", format_timestamp(time)},
    };
    return detail::dump_json(document);
}

Result<ControlRecord> ControlRecord::parse_json(std::string_view body) {
    auto json = detail::parse_body(body, kMaxBodySize, kDocument);
    if (!json) return std::unexpected(std::move(json.error()));
    auto context = [](Error error) { return std::unexpected(std::move(error).with_context(kDocument)); };
    auto fields = JsonFields::open(*json, "");
    if (!fields) return context(fields.error());

    ControlRecord record;
    auto rollout_id = fields->string("rollout_id");
    if (!rollout_id) return context(rollout_id.error());
    if (!is_valid_rollout_id(*rollout_id)) {
        return context(Error(Errc::parse, "rollout_id: \"" + *rollout_id + "\" is not a valid rollout id"));
    }
    record.rollout_id = std::move(*rollout_id);
    auto sequence = detail::read_uint(*fields, "sequence", 1, std::numeric_limits<std::uint64_t>::max());
    if (!sequence) return context(sequence.error());
    record.sequence = *sequence;
    auto action_text = fields->string("action");
    if (!action_text) return context(action_text.error());
    auto action = control_action_from_string(*action_text);
    if (!action) return context(Error(Errc::parse, "action: " + action.error().message()));
    record.action = *action;
    // No manifest has more than kMaxWaves waves, so no index beyond them is meaningful.
    auto open_wave = detail::read_uint(*fields, "open_wave", 0, Manifest::kMaxWaves - 1);
    if (!open_wave) return context(open_wave.error());
    record.open_wave = static_cast<std::uint32_t>(*open_wave);
    auto reason = detail::read_text(*fields, "reason", 0, kMaxReasonLength);
    if (!reason) return context(reason.error());
    record.reason = std::move(*reason);
    auto operator_name = detail::read_text(*fields, "operator", 1, kMaxOperatorLength);
    if (!operator_name) return context(operator_name.error());
    record.operator_name = std::move(*operator_name);
    auto time = detail::read_time(*fields, "time");
    if (!time) return context(time.error());
    record.time = *time;
    if (auto done = fields->finish(); !done) return context(done.error());
    return record;
}

crypto::Envelope ControlRecord::sign(const crypto::PrivateKey& operator_key) const {
    crypto::Envelope envelope{std::string(kEnvelopeType), to_json(), {}};
    envelope.sign(operator_key);
    return envelope;
}

Result<ControlRecord> verify_control(const crypto::Envelope& envelope, const crypto::TrustRoot& root,
                                     std::string_view rollout_id, std::uint64_t last_seen_sequence) {
    const std::string document = std::string(kDocument) + " for \"" + std::string(rollout_id) + "\"";
    auto signed_ok = detail::verify_role_envelope(envelope, ControlRecord::kEnvelopeType, ControlRecord::kMaxBodySize,
                                                  root, crypto::Role::operator_, document);
    if (!signed_ok) return std::unexpected(std::move(signed_ok.error()));
    auto record = ControlRecord::parse_json(envelope.body);
    if (!record) return detail::refuse(document, kDocument, record.error());
    const std::string name = std::string(kDocument) + " \"" + record->rollout_id + "\" #" +
                             std::to_string(record->sequence);
    if (record->rollout_id != rollout_id) {
        return detail::refuse(name, "is for another rollout than \"" + std::string(rollout_id) + "\"");
    }
    if (record->sequence <= last_seen_sequence) {
        return detail::refuse(name, "sequence is not above the #" + std::to_string(last_seen_sequence) +
                                        " already seen (replay refused)");
    }
    return record;
}

}  // namespace patchwave::rollout
