#include "agent/refusal_log.hpp"

#include <algorithm>
#include <limits>

#include <nlohmann/json.hpp>

namespace patchwave::agent {
namespace {

constexpr int kFormat = 1;

// Fits a message into a status record field: control characters (a command's
// output lines, say) become spaces, and the end is cut on a UTF-8 boundary.
std::string fit(std::string_view text, std::size_t max) {
    std::size_t cut = std::min(text.size(), max);
    // Back to a character's first byte: text[cut] must not continue one.
    while (cut > 0 && cut < text.size() && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    std::string out(text.substr(0, cut));
    for (char& c : out) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
    }
    return out;
}

}  // namespace

RefusalLog::Noted RefusalLog::note(std::string_view subject, std::string_view reason, Timestamp at) {
    return record(subject, reason, at, true);
}

RefusalLog::Noted RefusalLog::note_once(std::string_view subject, std::string_view reason, Timestamp at) {
    return record(subject, reason, at, false);
}

RefusalLog::Noted RefusalLog::record(std::string_view subject_text, std::string_view reason_text, Timestamp at,
                                     bool repeat_counts) {
    std::string subject = fit(subject_text, rollout::Refusal::kMaxSubjectLength);
    if (subject.empty()) subject = "(unnamed)";
    const std::string reason = fit(reason_text, rollout::Refusal::kMaxReasonLength);
    auto found = std::find_if(entries_.begin(), entries_.end(), [&](const rollout::Refusal& entry) {
        return entry.subject == subject && entry.reason == reason;
    });
    if (found != entries_.end()) {
        if (!repeat_counts) return Noted::known;
        rollout::Refusal entry = std::move(*found);
        entries_.erase(found);
        if (entry.count < std::numeric_limits<std::uint32_t>::max()) ++entry.count;
        entry.last = std::max(entry.last, at);
        entries_.push_back(std::move(entry));  // the most recently seen last
        return Noted::repeated;
    }
    if (entries_.size() >= kMaxEntries) entries_.erase(entries_.begin());
    entries_.push_back(rollout::Refusal{std::move(subject), reason, at, at, 1});
    return Noted::added;
}

std::string RefusalLog::to_json() const {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& entry : entries_) list.push_back(rollout::refusal_to_json(entry));
    return nlohmann::json{{"format", kFormat}, {"refused", std::move(list)}}.dump(2) + "\n";
}

Result<RefusalLog> RefusalLog::from_json(std::string_view text) {
    const auto document = nlohmann::json::parse(text, nullptr, false);
    if (document.is_discarded() || !document.is_object()) return fail(Errc::parse, "is not a JSON object");
    const auto format = document.find("format");
    if (format == document.end() || !format->is_number_unsigned() || format->get<std::uint64_t>() != kFormat)
        return fail(Errc::parse, "format: not " + std::to_string(kFormat));
    const auto list = document.find("refused");
    if (list == document.end() || !list->is_array()) return fail(Errc::parse, "refused: missing or not an array");
    RefusalLog log;
    for (std::size_t i = 0; i < list->size(); ++i) {
        auto entry = rollout::refusal_from_json((*list)[i], "refused[" + std::to_string(i) + "]");
        if (!entry) return std::unexpected(entry.error());
        log.entries_.push_back(std::move(*entry));
    }
    if (log.entries_.size() > kMaxEntries)
        log.entries_.erase(log.entries_.begin(), log.entries_.end() - static_cast<std::ptrdiff_t>(kMaxEntries));
    return log;
}

}  // namespace patchwave::agent
