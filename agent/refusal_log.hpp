// What this agent refused lately (records that did not verify, replays,
// bundles it may not apply), deduplicated and bounded, as its status reports it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/timestamp.hpp"
#include "rollout/refusal.hpp"
#include "rollout/status_record.hpp"

namespace patchwave::agent {

/// Pure: the caller passes the time. One entry per (subject, reason); the
/// oldest entries (by last seen) give way beyond kMaxEntries.
class RefusalLog {
public:
    static constexpr std::size_t kMaxEntries = rollout::StatusRecord::kMaxRefusals;

    enum class Noted {
        added,     ///< a new (subject, reason): worth a status record now
        repeated,  ///< seen before: count and last moved
        known,     ///< seen before, and note_once left it as it was
    };

    /// Records a refusal. Subject and reason are cut to the status record's
    /// caps and control characters become spaces, so any error message fits.
    Noted note(std::string_view subject, std::string_view reason, Timestamp at);
    /// Like note(), but a known (subject, reason) is left alone: for
    /// refusals re-derived from the same input again and again (a bundle's
    /// missing approvals at every manifest restore), not repeated attacks.
    Noted note_once(std::string_view subject, std::string_view reason, Timestamp at);

    /// Oldest last-seen first.
    const std::vector<rollout::Refusal>& entries() const { return entries_; }
    bool empty() const { return entries_.empty(); }

    /// {"format":1,"refused":[{subject, reason, first, last, count}]}
    std::string to_json() const;
    /// Errc::parse naming the field; entries beyond kMaxEntries are dropped (oldest first).
    static Result<RefusalLog> from_json(std::string_view text);

private:
    Noted record(std::string_view subject, std::string_view reason, Timestamp at, bool repeat_counts);

    std::vector<rollout::Refusal> entries_;
};

}  // namespace patchwave::agent
