#include "agent/journal.hpp"

#include <csignal>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "common/file_io.hpp"

namespace patchwave::agent {
namespace {

using nlohmann::json;

json optional_time(const std::optional<Timestamp>& time) {
    return time ? json(format_timestamp(*time)) : json(nullptr);
}

json bundle_to_json(const BundleJournal& bundle) {
    return json{{"id", rollout::to_hex(bundle.id)},
                {"state", rollout::to_string(bundle.state)},
                {"since", format_timestamp(bundle.since)},
                {"step", bundle.step},
                {"step_running", bundle.step_running},
                {"attempts", bundle.attempts},
                {"interruptions", bundle.interruptions},
                {"interrupted", bundle.interrupted},
                {"retry_at", optional_time(bundle.retry_at)},
                {"failed_step", bundle.failed_step},
                {"failure_reason", bundle.failure_reason},
                {"rolled_back", bundle.rolled_back},
                {"needs_reboot", bundle.needs_reboot},
                {"boot_id", bundle.boot_id},
                {"bytes_done", bundle.bytes_done},
                {"bytes_total", bundle.bytes_total}};
}

json finding_to_json(const rollout::DriftFinding& finding) {
    return json{{"path", finding.path},
                {"expected", finding.expected},
                {"actual", finding.actual},
                {"bundle", finding.bundle ? json(rollout::to_hex(*finding.bundle)) : json(nullptr)},
                {"detected", format_timestamp(finding.detected)}};
}

json tracked_to_json(const TrackedPath& tracked) {
    return json{{"path", tracked.path},
                {"digest", tracked.digest ? json(*tracked.digest) : json(nullptr)},
                {"bundle", tracked.bundle ? json(rollout::to_hex(*tracked.bundle)) : json(nullptr)},
                {"recorded", format_timestamp(tracked.recorded)}};
}

// Reading: the journal is the agent's own file, but a torn or hand-edited one
// must fail loudly with the field, never be half-understood.
struct Reader {
    std::string where;

    Error error(std::string_view field, std::string_view why) const {
        return Error{Errc::parse, where + (where.empty() ? "" : ": ") + std::string(field) + " " + std::string(why)};
    }

    Result<const json*> member(const json& object, std::string_view key) const {
        if (!object.is_object()) return fail(error(key, "is inside something that is not an object"));
        auto it = object.find(key);
        if (it == object.end()) return fail(error(key, "is missing"));
        return &*it;
    }

    Result<std::string> text(const json& object, std::string_view key) const {
        auto value = member(object, key);
        if (!value) return std::unexpected(value.error());
        if (!(*value)->is_string()) return fail(error(key, "is not a string"));
        return (*value)->get<std::string>();
    }

    Result<std::uint64_t> number(const json& object, std::string_view key) const {
        auto value = member(object, key);
        if (!value) return std::unexpected(value.error());
        if (!(*value)->is_number_unsigned()) return fail(error(key, "is not a non-negative integer"));
        return (*value)->get<std::uint64_t>();
    }

    Result<bool> flag(const json& object, std::string_view key) const {
        auto value = member(object, key);
        if (!value) return std::unexpected(value.error());
        if (!(*value)->is_boolean()) return fail(error(key, "is not true or false"));
        return (*value)->get<bool>();
    }

    Result<Timestamp> time(const json& object, std::string_view key) const {
        auto value = text(object, key);
        if (!value) return std::unexpected(value.error());
        auto parsed = parse_timestamp(*value);
        if (!parsed) return fail(error(key, parsed.error().message()));
        return *parsed;
    }

    Result<std::optional<Timestamp>> optional_time(const json& object, std::string_view key) const {
        auto value = member(object, key);
        if (!value) return std::unexpected(value.error());
        if ((*value)->is_null()) return std::optional<Timestamp>{};
        auto parsed = time(object, key);
        if (!parsed) return std::unexpected(parsed.error());
        return std::optional<Timestamp>(*parsed);
    }

    Result<std::optional<std::string>> optional_text(const json& object, std::string_view key) const {
        auto value = member(object, key);
        if (!value) return std::unexpected(value.error());
        if ((*value)->is_null()) return std::optional<std::string>{};
        auto parsed = text(object, key);
        if (!parsed) return std::unexpected(parsed.error());
        return std::optional<std::string>(*parsed);
    }

    Result<std::optional<rollout::BundleId>> optional_id(const json& object, std::string_view key) const {
        auto value = optional_text(object, key);
        if (!value) return std::unexpected(value.error());
        if (!*value) return std::optional<rollout::BundleId>{};
        auto id = rollout::parse_bundle_id(**value);
        if (!id) return fail(error(key, id.error().message()));
        return std::optional<rollout::BundleId>(*id);
    }

    Result<const json*> array(const json& object, std::string_view key) const {
        auto value = member(object, key);
        if (!value) return std::unexpected(value.error());
        if (!(*value)->is_array()) return fail(error(key, "is not an array"));
        return *value;
    }
};

#define PW_TRY(target, expr)                                 \
    do {                                                     \
        auto pw_value = (expr);                              \
        if (!pw_value) return std::unexpected(pw_value.error()); \
        target = std::move(*pw_value);                       \
    } while (false)

Result<BundleJournal> bundle_from_json(const json& object, const Reader& reader) {
    BundleJournal bundle;
    std::string id_text;
    PW_TRY(id_text, reader.text(object, "id"));
    auto id = rollout::parse_bundle_id(id_text);
    if (!id) return fail(reader.error("id", id.error().message()));
    bundle.id = *id;
    std::string state_text;
    PW_TRY(state_text, reader.text(object, "state"));
    auto state = rollout::host_state_from_string(state_text);
    if (!state) return fail(reader.error("state", state.error().message()));
    bundle.state = *state;
    PW_TRY(bundle.since, reader.time(object, "since"));
    PW_TRY(bundle.step, reader.text(object, "step"));
    PW_TRY(bundle.step_running, reader.flag(object, "step_running"));
    std::uint64_t attempts = 0;
    PW_TRY(attempts, reader.number(object, "attempts"));
    bundle.attempts = static_cast<std::uint32_t>(std::min<std::uint64_t>(attempts, 1'000'000));
    std::uint64_t interruptions = 0;
    PW_TRY(interruptions, reader.number(object, "interruptions"));
    bundle.interruptions = static_cast<std::uint32_t>(std::min<std::uint64_t>(interruptions, 1'000'000));
    PW_TRY(bundle.interrupted, reader.flag(object, "interrupted"));
    PW_TRY(bundle.retry_at, reader.optional_time(object, "retry_at"));
    PW_TRY(bundle.failed_step, reader.text(object, "failed_step"));
    PW_TRY(bundle.failure_reason, reader.text(object, "failure_reason"));
    PW_TRY(bundle.rolled_back, reader.flag(object, "rolled_back"));
    PW_TRY(bundle.needs_reboot, reader.flag(object, "needs_reboot"));
    PW_TRY(bundle.boot_id, reader.text(object, "boot_id"));
    PW_TRY(bundle.bytes_done, reader.number(object, "bytes_done"));
    PW_TRY(bundle.bytes_total, reader.number(object, "bytes_total"));
    return bundle;
}

Result<std::map<std::string, std::uint64_t>> floors_from_json(const json& object, std::string_view key,
                                                             const Reader& reader) {
    auto value = reader.member(object, key);
    if (!value) return std::unexpected(value.error());
    if (!(*value)->is_object()) return fail(reader.error(key, "is not an object"));
    std::map<std::string, std::uint64_t> floors;
    for (const auto& [name, floor] : (*value)->items()) {
        if (!floor.is_number_unsigned()) return fail(reader.error(key, "has a value that is not an integer"));
        floors[name] = floor.get<std::uint64_t>();
    }
    return floors;
}

Result<std::map<std::string, std::map<std::string, std::uint64_t>>> key_floors_from_json(const json& object,
                                                                                        std::string_view key,
                                                                                        const Reader& reader) {
    std::map<std::string, std::map<std::string, std::uint64_t>> floors;
    const auto found = object.find(key);
    if (found == object.end()) return floors;
    const json& value = *found;
    if (!value.is_object()) return fail(reader.error(key, "is not an object"));
    for (const auto& [rollout, keys] : value.items()) {
        if (!keys.is_object()) return fail(reader.error(key, "has a value that is not an object"));
        for (const auto& [signer, floor] : keys.items()) {
            if (!floor.is_number_unsigned()) return fail(reader.error(key, "has a floor that is not an integer"));
            floors[rollout][signer] = floor.get<std::uint64_t>();
        }
    }
    return floors;
}

}  // namespace

RolloutJournal* JournalState::find_rollout(std::string_view rollout_id) {
    for (auto& rollout : rollouts)
        if (rollout.rollout_id == rollout_id) return &rollout;
    return nullptr;
}

const RolloutJournal* JournalState::find_rollout(std::string_view rollout_id) const {
    for (const auto& rollout : rollouts)
        if (rollout.rollout_id == rollout_id) return &rollout;
    return nullptr;
}

std::string to_json(const JournalState& state) {
    json rollouts = json::array();
    for (const auto& rollout : state.rollouts) {
        json bundles = json::array();
        for (const auto& bundle : rollout.bundles) bundles.push_back(bundle_to_json(bundle));
        rollouts.push_back(json{{"rollout_id", rollout.rollout_id},
                                {"manifest_version", rollout.manifest_version},
                                {"bundles", std::move(bundles)}});
    }
    json baseline = json::array();
    for (const auto& tracked : state.baseline) baseline.push_back(tracked_to_json(tracked));
    json drift = json::array();
    for (const auto& finding : state.drift) drift.push_back(finding_to_json(finding));
    const RebootJournal& reboot = state.reboot;
    json document{
        {"format", JournalState::kFormat},
        {"status_sequence", state.status_sequence},
        {"trusted_time", format_timestamp(state.trusted_time)},
        {"rollouts", std::move(rollouts)},
        {"reboot",
         json{{"requested", reboot.requested},
              {"boot_id_before", reboot.boot_id_before},
              {"requested_at", optional_time(reboot.requested_at)},
              {"deferrals_used", reboot.deferrals_used},
              {"deferred_until", optional_time(reboot.deferred_until)},
              {"notice_since", optional_time(reboot.notice_since)}}},
        {"baseline", std::move(baseline)},
        {"drift", std::move(drift)},
        {"drift_checked", optional_time(state.drift_checked)},
        {"manifest_versions", state.manifest_versions},
        {"control_sequences", state.control_sequences},
        {"manifest_key_floors", state.manifest_key_floors},
        {"control_key_floors", state.control_key_floors},
        {"trusted_boot_id", state.trusted_boot_id},
        {"trusted_boot_seconds", state.trusted_boot_seconds},
    };
    return document.dump(2) + "\n";
}

Result<JournalState> journal_from_json(std::string_view text) {
    json document = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (document.is_discarded() || !document.is_object()) return fail(Errc::parse, "is not a JSON object");
    Reader reader;
    std::uint64_t format = 0;
    PW_TRY(format, reader.number(document, "format"));
    if (format != JournalState::kFormat) {
        return fail(Errc::parse, "format " + std::to_string(format) + " is not " +
                                     std::to_string(JournalState::kFormat) + " (written by another agent version)");
    }
    JournalState state;
    PW_TRY(state.status_sequence, reader.number(document, "status_sequence"));
    PW_TRY(state.trusted_time, reader.time(document, "trusted_time"));

    const json* rollouts = nullptr;
    PW_TRY(rollouts, reader.array(document, "rollouts"));
    for (std::size_t r = 0; r < rollouts->size(); ++r) {
        const json& item = (*rollouts)[r];
        Reader at{"rollouts[" + std::to_string(r) + "]"};
        RolloutJournal rollout;
        PW_TRY(rollout.rollout_id, at.text(item, "rollout_id"));
        PW_TRY(rollout.manifest_version, at.number(item, "manifest_version"));
        const json* bundles = nullptr;
        PW_TRY(bundles, at.array(item, "bundles"));
        for (std::size_t b = 0; b < bundles->size(); ++b) {
            Reader bundle_at{at.where + ".bundles[" + std::to_string(b) + "]"};
            BundleJournal bundle;
            PW_TRY(bundle, bundle_from_json((*bundles)[b], bundle_at));
            rollout.bundles.push_back(std::move(bundle));
        }
        state.rollouts.push_back(std::move(rollout));
    }

    const json* reboot = nullptr;
    PW_TRY(reboot, reader.member(document, "reboot"));
    Reader reboot_at{"reboot"};
    PW_TRY(state.reboot.requested, reboot_at.flag(*reboot, "requested"));
    PW_TRY(state.reboot.boot_id_before, reboot_at.text(*reboot, "boot_id_before"));
    PW_TRY(state.reboot.requested_at, reboot_at.optional_time(*reboot, "requested_at"));
    std::uint64_t deferrals = 0;
    PW_TRY(deferrals, reboot_at.number(*reboot, "deferrals_used"));
    state.reboot.deferrals_used = static_cast<std::uint32_t>(std::min<std::uint64_t>(deferrals, 1'000'000));
    PW_TRY(state.reboot.deferred_until, reboot_at.optional_time(*reboot, "deferred_until"));
    PW_TRY(state.reboot.notice_since, reboot_at.optional_time(*reboot, "notice_since"));

    const json* baseline = nullptr;
    PW_TRY(baseline, reader.array(document, "baseline"));
    for (std::size_t i = 0; i < baseline->size(); ++i) {
        Reader at{"baseline[" + std::to_string(i) + "]"};
        const json& item = (*baseline)[i];
        TrackedPath tracked;
        PW_TRY(tracked.path, at.text(item, "path"));
        PW_TRY(tracked.digest, at.optional_text(item, "digest"));
        PW_TRY(tracked.bundle, at.optional_id(item, "bundle"));
        PW_TRY(tracked.recorded, at.time(item, "recorded"));
        state.baseline.push_back(std::move(tracked));
    }
    const json* drift = nullptr;
    PW_TRY(drift, reader.array(document, "drift"));
    for (std::size_t i = 0; i < drift->size(); ++i) {
        Reader at{"drift[" + std::to_string(i) + "]"};
        const json& item = (*drift)[i];
        rollout::DriftFinding finding;
        PW_TRY(finding.path, at.text(item, "path"));
        PW_TRY(finding.expected, at.text(item, "expected"));
        PW_TRY(finding.actual, at.text(item, "actual"));
        PW_TRY(finding.bundle, at.optional_id(item, "bundle"));
        PW_TRY(finding.detected, at.time(item, "detected"));
        state.drift.push_back(std::move(finding));
    }
    PW_TRY(state.drift_checked, reader.optional_time(document, "drift_checked"));
    PW_TRY(state.manifest_versions, floors_from_json(document, "manifest_versions", reader));
    PW_TRY(state.control_sequences, floors_from_json(document, "control_sequences", reader));
    // Added later: optional, so journals written before them still open.
    PW_TRY(state.manifest_key_floors, key_floors_from_json(document, "manifest_key_floors", reader));
    PW_TRY(state.control_key_floors, key_floors_from_json(document, "control_key_floors", reader));
    if (document.contains("trusted_boot_id")) {
        PW_TRY(state.trusted_boot_id, reader.text(document, "trusted_boot_id"));
        const json* seconds = nullptr;
        PW_TRY(seconds, reader.member(document, "trusted_boot_seconds"));
        if (!seconds->is_number_integer()) return fail(reader.error("trusted_boot_seconds", "is not an integer"));
        state.trusted_boot_seconds = seconds->get<std::int64_t>();
    }
    return state;
}

#undef PW_TRY

Result<Journal> Journal::open(std::filesystem::path path) {
    auto text = read_file(path, kMaxSize);
    if (!text) {
        if (text.error().is(Errc::not_found)) return Journal(std::move(path), JournalState{});
        return std::unexpected(std::move(text.error()).with_context(path.string()));
    }
    auto state = journal_from_json(*text);
    if (!state) return std::unexpected(std::move(state.error()).with_context(path.string()));
    return Journal(std::move(path), std::move(*state));
}

Status Journal::commit(JournalState next) {
    if (auto written = write_file_atomic(path_, to_json(next), 0600); !written)
        return std::unexpected(std::move(written.error()).with_context("journal " + path_.string()));
    state_ = std::move(next);
    return {};
}

void crash_point(std::string_view point) {
    // Read on every call: tests set it per process, and the cost is a getenv.
    const char* wanted = std::getenv("PATCHWAVE_CRASH_AT");
    if (wanted == nullptr || point != wanted) return;
    ::kill(::getpid(), SIGKILL);
    ::pause();
}

}  // namespace patchwave::agent
