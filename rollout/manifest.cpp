// The signed manifest's JSON body: Manifest::to_json, parse_json and sign.
// Verification is in manifest_verify.cpp, rollout.toml in rollout_file.cpp.
#include <algorithm>
#include <set>

#include "rollout/document_json.hpp"
#include "rollout/manifest.hpp"

namespace patchwave::rollout {
namespace {

constexpr std::string_view kDocument = "manifest";
constexpr std::uint64_t kMaxRebootDeferrals = 100;
constexpr std::uint64_t kMaxRetries = 10;
constexpr std::size_t kMaxSelectorLabels = 32;
constexpr std::size_t kMaxDisplayName = 128;

nlohmann::json wave_json(const WaveSpec& wave) {
    nlohmann::json out = {
        {"name", wave.name},
        {"select", wave.select},
        {"success_threshold", format_percent(wave.success_threshold)},
        {"failure_threshold", format_percent(wave.failure_threshold)},
        {"soak", format_duration(wave.soak)},
        {"retries", wave.retries},
    };
    if (wave.percent) out["percent"] = *wave.percent;
    return out;
}

nlohmann::json bundle_json(const ManifestBundle& bundle) {
    nlohmann::json approvals = nlohmann::json::array();
    for (const auto& envelope : bundle.approvals) {
        // Envelopes come from decode() or Approval::sign and always encode; an
        // unencodable one is written as "" so that parsing refuses it loudly.
        auto bytes = envelope.encode();
        approvals.push_back(bytes ? crypto::base64_encode(*bytes) : std::string());
    }
    return {
        {"id", to_hex(bundle.id)},
        {"metadata_digest", to_hex(bundle.metadata_digest)},
        {"name", bundle.name},
        {"version", bundle.version},
        {"triage", std::string(to_string(bundle.triage))},
        {"approvals", std::move(approvals)},
    };
}

Result<WaveSpec> parse_wave(const nlohmann::json& value, const std::string& path) {
    auto fields = JsonFields::open(value, path);
    if (!fields) return std::unexpected(std::move(fields.error()));
    WaveSpec wave;
    auto name = fields->string("name");
    if (!name) return std::unexpected(std::move(name.error()));
    if (!is_valid_rollout_id(*name)) {
        return fail(Errc::parse, fields->path_of("name") + ": \"" + *name +
                                     "\" is not 1-64 characters of [A-Za-z0-9._-] starting with a letter or digit");
    }
    wave.name = std::move(*name);
    auto select = detail::read_labels(*fields, "select", kMaxSelectorLabels);
    if (!select) return std::unexpected(std::move(select.error()));
    wave.select = std::move(*select);
    auto percent_value = fields->optional_value("percent");
    if (!percent_value) return std::unexpected(std::move(percent_value.error()));
    if (*percent_value != nullptr) {
        auto percent = detail::read_uint(*fields, "percent", 1, 100);
        if (!percent) return std::unexpected(std::move(percent.error()));
        wave.percent = static_cast<std::uint32_t>(*percent);
    }
    auto success = detail::read_percent(*fields, "success_threshold");
    if (!success) return std::unexpected(std::move(success.error()));
    wave.success_threshold = *success;
    auto failure = detail::read_percent(*fields, "failure_threshold");
    if (!failure) return std::unexpected(std::move(failure.error()));
    wave.failure_threshold = *failure;
    auto soak = detail::read_duration(*fields, "soak");
    if (!soak) return std::unexpected(std::move(soak.error()));
    wave.soak = *soak;
    auto retries = detail::read_uint(*fields, "retries", 0, kMaxRetries);
    if (!retries) return std::unexpected(std::move(retries.error()));
    wave.retries = static_cast<std::uint32_t>(*retries);
    if (auto done = fields->finish(); !done) return std::unexpected(std::move(done.error()));
    return wave;
}

Result<ManifestBundle> parse_bundle(const nlohmann::json& value, const std::string& path) {
    auto fields = JsonFields::open(value, path);
    if (!fields) return std::unexpected(std::move(fields.error()));
    ManifestBundle bundle;
    auto id = detail::read_hex32(*fields, "id");
    if (!id) return std::unexpected(std::move(id.error()));
    bundle.id = *id;
    auto digest = detail::read_hex32(*fields, "metadata_digest");
    if (!digest) return std::unexpected(std::move(digest.error()));
    bundle.metadata_digest = *digest;
    auto name = detail::read_text(*fields, "name", 1, kMaxDisplayName);
    if (!name) return std::unexpected(std::move(name.error()));
    bundle.name = std::move(*name);
    auto version = detail::read_text(*fields, "version", 1, kMaxDisplayName);
    if (!version) return std::unexpected(std::move(version.error()));
    bundle.version = std::move(*version);
    auto triage_text = fields->string("triage");
    if (!triage_text) return std::unexpected(std::move(triage_text.error()));
    auto triage = triage_status_from_string(*triage_text);
    if (!triage) return fail(Errc::parse, fields->path_of("triage") + ": " + triage.error().message());
    bundle.triage = *triage;
    auto approvals = detail::read_array(*fields, "approvals", Manifest::kMaxApprovalsPerBundle);
    if (!approvals) return std::unexpected(std::move(approvals.error()));
    for (std::size_t i = 0; i < (*approvals)->size(); ++i) {
        const std::string where = fields->path_of("approvals") + "[" + std::to_string(i) + "]";
        const auto& entry = (**approvals)[i];
        if (!entry.is_string()) return fail(Errc::parse, where + ": expected a base64 string");
        const auto& text = entry.get_ref<const std::string&>();
        // Check the size before decoding: base64 grows by 4/3.
        if (text.size() / 4 * 3 > Manifest::kMaxApprovalEnvelopeSize) {
            return fail(Errc::limit, where + ": approval envelope over the 32 KiB cap");
        }
        auto bytes = crypto::base64_decode(text);
        if (!bytes) return fail(Errc::parse, where + ": " + bytes.error().message());
        auto envelope = crypto::Envelope::decode(*bytes, Manifest::kMaxApprovalEnvelopeSize);
        if (!envelope) return std::unexpected(std::move(envelope.error()).with_context(where));
        bundle.approvals.push_back(std::move(*envelope));
    }
    if (auto done = fields->finish(); !done) return std::unexpected(std::move(done.error()));
    return bundle;
}

// Rules that involve several fields at once.
Status check_manifest(const Manifest& manifest) {
    if (manifest.bundles.empty()) return fail(Errc::parse, "bundles: at least one bundle is required");
    if (manifest.waves.empty()) return fail(Errc::parse, "waves: at least one wave is required");
    std::set<BundleId> ids;
    for (std::size_t i = 0; i < manifest.bundles.size(); ++i) {
        if (!ids.insert(manifest.bundles[i].id).second) {
            return fail(Errc::parse, "bundles[" + std::to_string(i) + "].id: " + to_hex(manifest.bundles[i].id) +
                                         " is listed twice");
        }
    }
    std::set<std::string_view> names;
    for (std::size_t i = 0; i < manifest.waves.size(); ++i) {
        if (!names.insert(manifest.waves[i].name).second) {
            return fail(Errc::parse, "waves[" + std::to_string(i) + "].name: \"" + manifest.waves[i].name +
                                         "\" is used by an earlier wave");
        }
    }
    if (manifest.not_before && manifest.expires <= *manifest.not_before) {
        return fail(Errc::parse, "expires: " + format_timestamp(manifest.expires) + " is not after not_before " +
                                     format_timestamp(*manifest.not_before));
    }
    if (manifest.expires <= manifest.published) {
        return fail(Errc::parse, "expires: " + format_timestamp(manifest.expires) + " is not after published " +
                                     format_timestamp(manifest.published));
    }
    return {};
}

}  // namespace

std::string Manifest::to_json() const {
    nlohmann::json bundles_json = nlohmann::json::array();
    for (const auto& bundle : bundles) bundles_json.push_back(bundle_json(bundle));
    nlohmann::json waves_json = nlohmann::json::array();
    for (const auto& wave : waves) waves_json.push_back(wave_json(wave));
    nlohmann::json document = {
        {"rollout_id", rollout_id},
        {"version", version},
        {"bundles", std::move(bundles_json)},
        {"emergency", emergency},
        {"published", format_timestamp(published)},
        {"expires", format_timestamp(expires)},
        {"reboot_deadline", format_duration(reboot_deadline)},
        {"max_reboot_deferrals", max_reboot_deferrals},
        {"waves", std::move(waves_json)},
    };
    if (not_before) document["not_before"] = format_timestamp(*not_before);
    return detail::dump_json(document);
}

Result<Manifest> Manifest::parse_json(std::string_view body) {
    auto json = detail::parse_body(body, kMaxBodySize, kDocument);
    if (!json) return std::unexpected(std::move(json.error()));
    auto context = [](Error error) { return std::unexpected(std::move(error).with_context(kDocument)); };
    auto fields = JsonFields::open(*json, "");
    if (!fields) return context(fields.error());

    Manifest manifest;
    auto rollout_id = fields->string("rollout_id");
    if (!rollout_id) return context(rollout_id.error());
    if (!is_valid_rollout_id(*rollout_id)) {
        return context(Error(Errc::parse, "rollout_id: \"" + *rollout_id + "\" is not a valid rollout id"));
    }
    manifest.rollout_id = std::move(*rollout_id);
    auto version = detail::read_uint(*fields, "version", 1, std::numeric_limits<std::uint64_t>::max());
    if (!version) return context(version.error());
    manifest.version = *version;

    auto bundles = detail::read_array(*fields, "bundles", kMaxBundles);
    if (!bundles) return context(bundles.error());
    for (std::size_t i = 0; i < (*bundles)->size(); ++i) {
        auto bundle = parse_bundle((**bundles)[i], "bundles[" + std::to_string(i) + "]");
        if (!bundle) return context(bundle.error());
        manifest.bundles.push_back(std::move(*bundle));
    }
    auto emergency = fields->boolean("emergency");
    if (!emergency) return context(emergency.error());
    manifest.emergency = *emergency;
    auto not_before = detail::read_optional_time(*fields, "not_before");
    if (!not_before) return context(not_before.error());
    manifest.not_before = *not_before;
    auto published = detail::read_time(*fields, "published");
    if (!published) return context(published.error());
    manifest.published = *published;
    auto expires = detail::read_time(*fields, "expires");
    if (!expires) return context(expires.error());
    manifest.expires = *expires;
    auto deadline = detail::read_duration(*fields, "reboot_deadline");
    if (!deadline) return context(deadline.error());
    manifest.reboot_deadline = *deadline;
    auto deferrals = detail::read_uint(*fields, "max_reboot_deferrals", 0, kMaxRebootDeferrals);
    if (!deferrals) return context(deferrals.error());
    manifest.max_reboot_deferrals = static_cast<std::uint32_t>(*deferrals);

    auto waves = detail::read_array(*fields, "waves", kMaxWaves);
    if (!waves) return context(waves.error());
    for (std::size_t i = 0; i < (*waves)->size(); ++i) {
        auto wave = parse_wave((**waves)[i], "waves[" + std::to_string(i) + "]");
        if (!wave) return context(wave.error());
        manifest.waves.push_back(std::move(*wave));
    }
    if (auto done = fields->finish(); !done) return context(done.error());
    if (auto valid = check_manifest(manifest); !valid) return context(valid.error());
    return manifest;
}

crypto::Envelope Manifest::sign(const crypto::PrivateKey& release) const {
    crypto::Envelope envelope{std::string(kEnvelopeType), to_json(), {}};
    envelope.sign(release);
    return envelope;
}

}  // namespace patchwave::rollout
