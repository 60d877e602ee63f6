// The records one node holds: one version per (type, origin, id), replaced
// only by a verified higher version, within count and byte caps.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

#include "common/error.hpp"
#include "net/gossip/record.hpp"
#include "net/gossip/verifier.hpp"

namespace patchwave::net::gossip {

/// What offer() did with a record.
enum class OfferResult {
    stored,  ///< verified and now held: tell others
    stale,   ///< a version at or above it is already held: drop it quietly
};

/// Holds records; every record it holds passed the verifier first.
class RecordStore {
public:
    RecordStore(RecordVerifier& verifier, std::size_t max_records, std::size_t max_bytes)
        : verifier_(verifier), max_records_(max_records), max_bytes_(max_bytes) {}

    /// In this order: the envelope size cap; a version not above the one held
    /// is stale (a replay costs no signature check); the caps on count and
    /// bytes; then the verifier. Errors: Errc::limit, or the verifier's.
    Result<OfferResult> offer(RecordPtr record);

    /// 0 when nothing is held for `key`.
    std::uint64_t version_of(const RecordKey& key) const;
    RecordPtr find(const RecordKey& key) const;
    std::size_t size() const { return records_.size(); }
    std::size_t bytes() const { return bytes_; }

    /// Every held record's header, in no particular order.
    std::vector<RecordHeader> headers() const;
    void for_each(const std::function<void(const RecordPtr&)>& visit) const;
    /// Drops every record `drop` says yes to; returns their headers. A later
    /// version of a dropped key is taken again like a new record.
    std::vector<RecordHeader> drop_if(const std::function<bool(const RecordPtr&)>& drop);

private:
    RecordVerifier& verifier_;
    std::size_t max_records_;
    std::size_t max_bytes_;
    std::size_t bytes_ = 0;
    std::unordered_map<RecordKey, RecordPtr, RecordKeyHash> records_;
};

}  // namespace patchwave::net::gossip
