#include "rollout/status_record.hpp"

#include <algorithm>
#include <limits>
#include <set>

#include "common/hex.hpp"
#include "rollout/document_json.hpp"

namespace patchwave::rollout {
namespace {

constexpr std::string_view kDocument = "status record";
constexpr std::size_t kMaxBootIdLength = 128;
constexpr std::size_t kMaxStepLength = 64;
constexpr std::size_t kMaxReasonLength = 2048;
constexpr std::size_t kMaxPathLength = 4096;
constexpr std::uint64_t kMaxCounter = 1'000'000;
constexpr std::string_view kAbsent = "absent";

using detail::read_hex32;
using detail::read_optional_time;
using detail::read_text;
using detail::read_time;
using detail::read_uint;

void put_time(nlohmann::json& out, std::string_view key, const std::optional<Timestamp>& time) {
    if (time) out[std::string(key)] = format_timestamp(*time);
}

nlohmann::json bundle_json(const BundleStatus& status) {
    return {
        {"bundle", to_hex(status.bundle)},
        {"state", std::string(to_string(status.state))},
        {"since", format_timestamp(status.since)},
        {"failed_step", status.failed_step},
        {"failure_reason", status.failure_reason},
        {"rolled_back", status.rolled_back},
        {"bytes_done", status.bytes_done},
        {"bytes_total", status.bytes_total},
        {"attempts", status.attempts},
    };
}

nlohmann::json drift_json(const DriftFinding& finding) {
    nlohmann::json out = {
        {"path", finding.path},
        {"expected", finding.expected},
        {"actual", finding.actual},
        {"detected", format_timestamp(finding.detected)},
    };
    if (finding.bundle) out["bundle"] = to_hex(*finding.bundle);
    return out;
}

Result<BundleStatus> parse_bundle_status(const nlohmann::json& value, const std::string& path) {
    auto fields = JsonFields::open(value, path);
    if (!fields) return std::unexpected(std::move(fields.error()));
    BundleStatus status;
    auto bundle = read_hex32(*fields, "bundle");
    if (!bundle) return std::unexpected(std::move(bundle.error()));
    status.bundle = *bundle;
    auto state_text = fields->string("state");
    if (!state_text) return std::unexpected(std::move(state_text.error()));
    auto state = host_state_from_string(*state_text);
    if (!state) return fail(Errc::parse, fields->path_of("state") + ": " + state.error().message());
    status.state = *state;
    auto since = read_time(*fields, "since");
    if (!since) return std::unexpected(std::move(since.error()));
    status.since = *since;
    auto step = read_text(*fields, "failed_step", 0, kMaxStepLength);
    if (!step) return std::unexpected(std::move(step.error()));
    status.failed_step = std::move(*step);
    auto reason = read_text(*fields, "failure_reason", 0, kMaxReasonLength);
    if (!reason) return std::unexpected(std::move(reason.error()));
    status.failure_reason = std::move(*reason);
    auto rolled_back = fields->boolean("rolled_back");
    if (!rolled_back) return std::unexpected(std::move(rolled_back.error()));
    status.rolled_back = *rolled_back;
    auto done = fields->uint("bytes_done");
    if (!done) return std::unexpected(std::move(done.error()));
    status.bytes_done = *done;
    auto total = fields->uint("bytes_total");
    if (!total) return std::unexpected(std::move(total.error()));
    status.bytes_total = *total;
    auto attempts = read_uint(*fields, "attempts", 0, kMaxCounter);
    if (!attempts) return std::unexpected(std::move(attempts.error()));
    status.attempts = static_cast<std::uint32_t>(*attempts);
    if (auto finished = fields->finish(); !finished) return std::unexpected(std::move(finished.error()));
    return status;
}

Result<RolloutStatus> parse_rollout_status(const nlohmann::json& value, const std::string& path) {
    auto fields = JsonFields::open(value, path);
    if (!fields) return std::unexpected(std::move(fields.error()));
    RolloutStatus status;
    auto rollout_id = fields->string("rollout_id");
    if (!rollout_id) return std::unexpected(std::move(rollout_id.error()));
    if (!is_valid_rollout_id(*rollout_id)) {
        return fail(Errc::parse, fields->path_of("rollout_id") + ": \"" + *rollout_id + "\" is not a valid rollout id");
    }
    status.rollout_id = std::move(*rollout_id);
    auto version = fields->uint("manifest_version");
    if (!version) return std::unexpected(std::move(version.error()));
    status.manifest_version = *version;
    auto bundles = detail::read_array(*fields, "bundles", StatusRecord::kMaxBundlesPerRollout);
    if (!bundles) return std::unexpected(std::move(bundles.error()));
    std::set<BundleId> seen;
    for (std::size_t i = 0; i < (*bundles)->size(); ++i) {
        const std::string where = fields->path_of("bundles") + "[" + std::to_string(i) + "]";
        auto bundle = parse_bundle_status((**bundles)[i], where);
        if (!bundle) return std::unexpected(std::move(bundle.error()));
        if (!seen.insert(bundle->bundle).second) {
            return fail(Errc::parse, where + ".bundle: " + to_hex(bundle->bundle) + " is listed twice");
        }
        status.bundles.push_back(std::move(*bundle));
    }
    if (auto finished = fields->finish(); !finished) return std::unexpected(std::move(finished.error()));
    return status;
}

Result<RebootStatus> parse_reboot(const nlohmann::json& value, const std::string& path) {
    auto fields = JsonFields::open(value, path);
    if (!fields) return std::unexpected(std::move(fields.error()));
    RebootStatus reboot;
    auto pending = fields->boolean("pending");
    if (!pending) return std::unexpected(std::move(pending.error()));
    reboot.pending = *pending;
    for (auto [key, slot] : {std::pair{"pending_since", &reboot.pending_since}, std::pair{"deadline", &reboot.deadline},
                             std::pair{"scheduled_for", &reboot.scheduled_for}}) {
        auto time = read_optional_time(*fields, key);
        if (!time) return std::unexpected(std::move(time.error()));
        *slot = *time;
    }
    auto deferrals = read_uint(*fields, "deferrals_used", 0, kMaxCounter);
    if (!deferrals) return std::unexpected(std::move(deferrals.error()));
    reboot.deferrals_used = static_cast<std::uint32_t>(*deferrals);
    if (auto finished = fields->finish(); !finished) return std::unexpected(std::move(finished.error()));
    return reboot;
}

// A fingerprint is 64 lower-case hex characters, or "absent".
bool valid_fingerprint(std::string_view text) {
    if (text == kAbsent) return true;
    return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

Result<DriftFinding> parse_drift(const nlohmann::json& value, const std::string& path) {
    auto fields = JsonFields::open(value, path);
    if (!fields) return std::unexpected(std::move(fields.error()));
    DriftFinding finding;
    auto file = read_text(*fields, "path", 1, kMaxPathLength);
    if (!file) return std::unexpected(std::move(file.error()));
    if (file->front() != '/') return fail(Errc::parse, fields->path_of("path") + ": \"" + *file + "\" is not absolute");
    finding.path = std::move(*file);
    for (auto [key, slot] : {std::pair{"expected", &finding.expected}, std::pair{"actual", &finding.actual}}) {
        auto text = fields->string(key);
        if (!text) return std::unexpected(std::move(text.error()));
        if (!valid_fingerprint(*text)) {
            return fail(Errc::parse, fields->path_of(key) + ": \"" + *text +
                                         "\" is neither 64 lower-case hex characters nor \"absent\"");
        }
        *slot = std::move(*text);
    }
    auto bundle_value = fields->optional_value("bundle");
    if (!bundle_value) return std::unexpected(std::move(bundle_value.error()));
    if (*bundle_value != nullptr) {
        auto bundle = read_hex32(*fields, "bundle");
        if (!bundle) return std::unexpected(std::move(bundle.error()));
        finding.bundle = *bundle;
    }
    auto detected = read_time(*fields, "detected");
    if (!detected) return std::unexpected(std::move(detected.error()));
    finding.detected = *detected;
    if (auto finished = fields->finish(); !finished) return std::unexpected(std::move(finished.error()));
    return finding;
}

}  // namespace

std::string StatusRecord::to_json() const {
    nlohmann::json rollouts_json = nlohmann::json::array();
    for (const auto& rollout : rollouts) {
        nlohmann::json bundles_json = nlohmann::json::array();
        for (const auto& bundle : rollout.bundles) bundles_json.push_back(bundle_json(bundle));
        rollouts_json.push_back({{"rollout_id", rollout.rollout_id},
                                 {"manifest_version", rollout.manifest_version},
                                 {"bundles", std::move(bundles_json)}});
    }
    nlohmann::json reboot_json = {{"pending", reboot.pending}, {"deferrals_used", reboot.deferrals_used}};
    put_time(reboot_json, "pending_since", reboot.pending_since);
    put_time(reboot_json, "deadline", reboot.deadline);
    put_time(reboot_json, "scheduled_for", reboot.scheduled_for);
    nlohmann::json drift_list = nlohmann::json::array();
    for (const auto& finding : drift) drift_list.push_back(drift_json(finding));
    nlohmann::json document = {
        {"agent", to_hex(agent)},
        {"sequence", sequence},
        {"boot_id", boot_id},
        {"time", format_timestamp(time)},
        {"rollouts", std::move(rollouts_json)},
        {"reboot", std::move(reboot_json)},
        {"drift", std::move(drift_list)},
    };
    // Left out when empty: an orchestrator from before the field refuses
    // unknown keys, and so still reads statuses of hosts that refused nothing.
    if (!refused.empty()) {
        nlohmann::json refused_list = nlohmann::json::array();
        for (const auto& refusal : refused) refused_list.push_back(refusal_to_json(refusal));
        document["refused"] = std::move(refused_list);
    }
    return detail::dump_json(document);
}

Result<StatusRecord> StatusRecord::parse_json(std::string_view body) {
    auto json = detail::parse_body(body, kMaxBodySize, kDocument);
    if (!json) return std::unexpected(std::move(json.error()));
    auto context = [](Error error) { return std::unexpected(std::move(error).with_context(kDocument)); };
    auto fields = JsonFields::open(*json, "");
    if (!fields) return context(fields.error());

    StatusRecord record;
    auto agent = read_hex32(*fields, "agent");
    if (!agent) return context(agent.error());
    record.agent = *agent;
    auto sequence = read_uint(*fields, "sequence", 1, std::numeric_limits<std::uint64_t>::max());
    if (!sequence) return context(sequence.error());
    record.sequence = *sequence;
    auto boot_id = read_text(*fields, "boot_id", 1, kMaxBootIdLength);
    if (!boot_id) return context(boot_id.error());
    record.boot_id = std::move(*boot_id);
    auto time = read_time(*fields, "time");
    if (!time) return context(time.error());
    record.time = *time;

    auto rollouts = detail::read_array(*fields, "rollouts", kMaxRollouts);
    if (!rollouts) return context(rollouts.error());
    std::set<std::string> seen;
    for (std::size_t i = 0; i < (*rollouts)->size(); ++i) {
        const std::string where = "rollouts[" + std::to_string(i) + "]";
        auto rollout = parse_rollout_status((**rollouts)[i], where);
        if (!rollout) return context(rollout.error());
        if (!seen.insert(rollout->rollout_id).second) {
            return context(Error(Errc::parse, where + ".rollout_id: \"" + rollout->rollout_id + "\" is listed twice"));
        }
        record.rollouts.push_back(std::move(*rollout));
    }
    auto reboot_value = fields->value("reboot");
    if (!reboot_value) return context(reboot_value.error());
    auto reboot = parse_reboot(**reboot_value, "reboot");
    if (!reboot) return context(reboot.error());
    record.reboot = std::move(*reboot);
    auto drift = detail::read_array(*fields, "drift", kMaxDriftFindings);
    if (!drift) return context(drift.error());
    for (std::size_t i = 0; i < (*drift)->size(); ++i) {
        auto finding = parse_drift((**drift)[i], "drift[" + std::to_string(i) + "]");
        if (!finding) return context(finding.error());
        record.drift.push_back(std::move(*finding));
    }
    auto refused = fields->optional_value("refused");
    if (!refused) return context(refused.error());
    if (*refused != nullptr) {
        auto list = detail::read_array(*fields, "refused", kMaxRefusals);
        if (!list) return context(list.error());
        for (std::size_t i = 0; i < (*list)->size(); ++i) {
            auto refusal = refusal_from_json((**list)[i], "refused[" + std::to_string(i) + "]");
            if (!refusal) return context(refusal.error());
            record.refused.push_back(std::move(*refusal));
        }
    }
    if (auto finished = fields->finish(); !finished) return context(finished.error());
    return record;
}

crypto::Envelope StatusRecord::sign(const crypto::PrivateKey& agent_key) const {
    crypto::Envelope envelope{std::string(kEnvelopeType), to_json(), {}};
    envelope.sign(agent_key);
    return envelope;
}

Result<StatusRecord> verify_status(const crypto::Envelope& envelope, const AgentCertificate& certificate,
                                   std::uint64_t last_seen_sequence) {
    const std::string document = std::string(kDocument) + " from \"" + certificate.host + "\"";
    // Only the agent's own key counts: threshold 1 of exactly that key, so an
    // enrolled neighbour (or the orchestrator) cannot report for this host.
    const crypto::PublicKey allowed[] = {certificate.agent_key};
    auto signed_ok = detail::verify_envelope(envelope, StatusRecord::kEnvelopeType, StatusRecord::kMaxBodySize,
                                             allowed, 1, "agent key", document);
    if (!signed_ok) return std::unexpected(std::move(signed_ok.error()));
    auto record = StatusRecord::parse_json(envelope.body);
    if (!record) return detail::refuse(document, kDocument, record.error());
    const std::string name = document + " #" + std::to_string(record->sequence);
    if (record->agent != certificate.agent_id()) {
        return detail::refuse(name, "names agent " + short_hex(record->agent) + ", not the certificate's agent " +
                                        short_hex(certificate.agent_id()));
    }
    if (record->sequence <= last_seen_sequence) {
        return detail::refuse(name, "sequence is not above the #" + std::to_string(last_seen_sequence) +
                                        " already seen (replay refused)");
    }
    return record;
}

}  // namespace patchwave::rollout
