#include "net/gossip/broadcast_queue.hpp"

#include <cmath>

namespace patchwave::net::gossip {

std::uint32_t retransmit_limit(std::uint32_t mult, std::size_t members) {
    double scale = std::ceil(std::log10(static_cast<double>(members) + 1.0));
    return mult * static_cast<std::uint32_t>(std::max(1.0, scale));
}

namespace {

std::uint64_t fnv1a(std::uint64_t hash, const auto& bytes) {
    for (auto byte : bytes)
        hash = (hash ^ static_cast<std::uint8_t>(byte)) * 1099511628211ull;
    return hash;
}

}  // namespace

Subject subject_of_member(const MemberId& id) {
    return fnv1a(0x6d656d6265720000ull, id);
}

Subject subject_of_record(const RecordKey& key) {
    std::uint64_t hash = fnv1a(0x7265636f72640000ull ^ static_cast<std::uint64_t>(key.type), key.origin);
    return fnv1a(hash, key.id);
}

void BroadcastQueue::erase(Subject subject) {
    auto it = by_subject_.find(subject);
    if (it == by_subject_.end()) return;
    Entry probe;
    probe.transmits = it->second.first;
    probe.id = it->second.second;
    order_.erase(probe);
    by_subject_.erase(it);
}

void BroadcastQueue::push(Subject subject, Bytes encoded_item) {
    erase(subject);
    if (capacity_ == 0) return;
    // Full: the most-sent (then oldest) item has done the most of its work.
    while (order_.size() >= capacity_) {
        auto last = std::prev(order_.end());
        by_subject_.erase(last->subject);
        order_.erase(last);
    }
    Entry entry;
    entry.id = next_id_++;
    entry.subject = subject;
    entry.bytes = std::move(encoded_item);
    by_subject_[subject] = {0, entry.id};
    order_.insert(std::move(entry));
}

std::size_t BroadcastQueue::fill(DatagramBuilder& builder, std::uint32_t limit) {
    std::size_t added = 0;
    std::vector<Entry> sent;
    // The smallest item (a digest with an empty id) is 45 bytes; once even
    // that cannot fit, or a few items in a row did not, the datagram is full
    // enough: scanning a long queue for a tiny item is not worth it.
    constexpr std::size_t kSmallestItem = 45;
    constexpr int kMaxMisses = 8;
    int misses = 0;
    for (auto it = order_.begin(); it != order_.end();) {
        if (builder.room() < kSmallestItem || misses >= kMaxMisses) break;
        if (!builder.try_add(it->bytes)) {
            ++misses;
            ++it;
            continue;
        }
        ++added;
        auto node = order_.extract(it++);
        sent.push_back(std::move(node.value()));
    }
    // Re-queued after the walk, so an item is never taken twice for one datagram.
    for (auto& entry : sent) {
        ++entry.transmits;
        if (entry.transmits >= limit) {
            by_subject_.erase(entry.subject);
            continue;
        }
        by_subject_[entry.subject] = {entry.transmits, entry.id};
        order_.insert(std::move(entry));
    }
    return added;
}

}  // namespace patchwave::net::gossip
