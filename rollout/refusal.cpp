#include "rollout/refusal.hpp"

#include <algorithm>
#include <limits>
#include <vector>

#include "rollout/document_json.hpp"

namespace patchwave::rollout {
namespace {

std::vector<std::string_view> words_of(std::string_view text) {
    std::vector<std::string_view> words;
    std::size_t at = 0;
    while (at < text.size()) {
        const std::size_t end = std::min(text.find(' ', at), text.size());
        if (end > at) words.push_back(text.substr(at, end - at));
        at = end + 1;
    }
    return words;
}

bool is_lower_hex(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    });
}

}  // namespace

nlohmann::json refusal_to_json(const Refusal& refusal) {
    return {
        {"subject", refusal.subject},
        {"reason", refusal.reason},
        {"first", format_timestamp(refusal.first)},
        {"last", format_timestamp(refusal.last)},
        {"count", refusal.count},
    };
}

Result<Refusal> refusal_from_json(const nlohmann::json& value, const std::string& path) {
    using detail::read_text;
    using detail::read_time;
    auto fields = JsonFields::open(value, path);
    if (!fields) return std::unexpected(std::move(fields.error()));
    Refusal refusal;
    auto subject = read_text(*fields, "subject", 1, Refusal::kMaxSubjectLength);
    if (!subject) return std::unexpected(std::move(subject.error()));
    refusal.subject = std::move(*subject);
    auto reason = read_text(*fields, "reason", 0, Refusal::kMaxReasonLength);
    if (!reason) return std::unexpected(std::move(reason.error()));
    refusal.reason = std::move(*reason);
    for (auto [key, slot] : {std::pair{"first", &refusal.first}, std::pair{"last", &refusal.last}}) {
        auto time = read_time(*fields, key);
        if (!time) return std::unexpected(std::move(time.error()));
        *slot = *time;
    }
    if (refusal.last < refusal.first) {
        return fail(Errc::parse, fields->path_of("last") + ": " + format_timestamp(refusal.last) +
                                     " is before first " + format_timestamp(refusal.first));
    }
    auto count = detail::read_uint(*fields, "count", 1, std::numeric_limits<std::uint32_t>::max());
    if (!count) return std::unexpected(std::move(count.error()));
    refusal.count = static_cast<std::uint32_t>(*count);
    if (auto finished = fields->finish(); !finished) return std::unexpected(std::move(finished.error()));
    return refusal;
}

std::string manifest_subject(std::string_view rollout_id, std::uint64_t version) {
    return "manifest " + std::string(rollout_id) + " v" + std::to_string(version);
}

std::string control_subject(std::string_view rollout_id, std::uint64_t sequence) {
    return "control " + std::string(rollout_id) + " seq " + std::to_string(sequence);
}

std::string bundle_subject(const BundleId& bundle, std::string_view rollout_id) {
    return "bundle " + short_hex(bundle) + " of " + std::string(rollout_id);
}

std::optional<std::string> subject_rollout(std::string_view subject) {
    const auto words = words_of(subject);
    if (words.size() == 3 && words[0] == "manifest") return std::string(words[1]);
    if (words.size() == 4 && words[0] == "control" && words[2] == "seq") return std::string(words[1]);
    if (words.size() == 4 && words[0] == "bundle" && words[2] == "of") return std::string(words[3]);
    return std::nullopt;
}

bool subject_concerns(std::string_view subject, const Manifest& manifest) {
    if (subject_rollout(subject) == manifest.rollout_id) return true;
    const auto words = words_of(subject);
    if (words.size() != 4 || words[0] != "bundle" || !is_lower_hex(words[1])) return false;
    return std::any_of(manifest.bundles.begin(), manifest.bundles.end(), [&](const ManifestBundle& bundle) {
        return to_hex(bundle.id).starts_with(words[1]);
    });
}

}  // namespace patchwave::rollout
