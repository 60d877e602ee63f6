// The queue of news waiting to be piggybacked: each item is sent a limited
// number of times (lambda * log n), least-sent first, and newer news replaces older.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <unordered_map>
#include <vector>

#include "net/gossip/message.hpp"
#include "net/gossip/record.hpp"
#include "net/gossip/transport.hpp"

namespace patchwave::net::gossip {

/// How many times each broadcast goes out: mult * ceil(log10(n + 1))
/// (memberlist's retransmitLimit).
std::uint32_t retransmit_limit(std::uint32_t mult, std::size_t members);

/// What a broadcast is about; a new broadcast about the same subject
/// replaces the queued one (alive after suspect, version 5 after version 4).
/// A 64-bit digest of the member id or record key: a collision (needing
/// 2^32 chosen admitted ids) would only make one broadcast replace another.
using Subject = std::uint64_t;
Subject subject_of_member(const MemberId& id);
Subject subject_of_record(const RecordKey& key);

/// memberlist's TransmitLimitedQueue, bounded to `capacity` items: when
/// full, the most-sent items are dropped first.
class BroadcastQueue {
public:
    explicit BroadcastQueue(std::size_t capacity) : capacity_(capacity) {}

    /// Queues an encoded item (from encode_item) about `subject`.
    void push(Subject subject, Bytes encoded_item);
    /// Drops whatever is queued about `subject`.
    void erase(Subject subject);

    /// Moves items into `builder` while they fit, least-sent and newest
    /// first; each taken item counts one transmission and leaves the queue
    /// after `limit` of them. Returns how many were added.
    std::size_t fill(DatagramBuilder& builder, std::uint32_t limit);

    std::size_t size() const { return order_.size(); }
    bool empty() const { return order_.empty(); }

private:
    struct Entry {
        std::uint32_t transmits = 0;
        std::uint64_t id = 0;  // rising: higher is newer
        Subject subject = 0;
        Bytes bytes;
    };
    struct Order {
        bool operator()(const Entry& a, const Entry& b) const {
            if (a.transmits != b.transmits) return a.transmits < b.transmits;
            return a.id > b.id;
        }
    };

    std::size_t capacity_;
    std::uint64_t next_id_ = 1;
    std::set<Entry, Order> order_;
    std::unordered_map<Subject, std::pair<std::uint32_t, std::uint64_t>> by_subject_;  // -> (transmits, id)
};

}  // namespace patchwave::net::gossip
