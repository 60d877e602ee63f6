#include "net/gossip/record_store.hpp"

namespace patchwave::net::gossip {

Result<OfferResult> RecordStore::offer(RecordPtr record) {
    const RecordHeader& header = record->header;
    if (auto status = validate(header); !status) return std::unexpected(status.error());
    if (record->envelope.empty() || record->envelope.size() > Record::kMaxEnvelopeSize) {
        return fail(Errc::limit, to_string(header) + ": envelope of " + std::to_string(record->envelope.size())
                                     + " bytes (1-" + std::to_string(Record::kMaxEnvelopeSize) + ")");
    }
    auto it = records_.find(header.key);
    std::uint64_t held = it == records_.end() ? 0 : it->second->header.version;
    if (header.version <= held) return OfferResult::stale;

    std::size_t replaced = it == records_.end() ? 0 : it->second->envelope.size();
    if (it == records_.end() && records_.size() >= max_records_) {
        return fail(Errc::limit,
                    to_string(header) + ": store holds its cap of " + std::to_string(max_records_) + " records");
    }
    if (bytes_ - replaced + record->envelope.size() > max_bytes_) {
        return fail(Errc::limit,
                    to_string(header) + ": store would exceed its cap of " + std::to_string(max_bytes_) + " bytes");
    }
    if (auto status = verifier_.verify_record(header, record->envelope, held); !status) {
        return std::unexpected(std::move(status.error()).with_context(to_string(header)));
    }
    bytes_ = bytes_ - replaced + record->envelope.size();
    if (it == records_.end()) {
        records_.emplace(header.key, std::move(record));
    } else {
        it->second = std::move(record);
    }
    return OfferResult::stored;
}

std::uint64_t RecordStore::version_of(const RecordKey& key) const {
    auto it = records_.find(key);
    return it == records_.end() ? 0 : it->second->header.version;
}

RecordPtr RecordStore::find(const RecordKey& key) const {
    auto it = records_.find(key);
    return it == records_.end() ? nullptr : it->second;
}

std::vector<RecordHeader> RecordStore::headers() const {
    std::vector<RecordHeader> out;
    out.reserve(records_.size());
    for (const auto& [key, record] : records_)
        out.push_back(record->header);
    return out;
}

void RecordStore::for_each(const std::function<void(const RecordPtr&)>& visit) const {
    for (const auto& [key, record] : records_)
        visit(record);
}

std::vector<RecordHeader> RecordStore::drop_if(const std::function<bool(const RecordPtr&)>& drop) {
    std::vector<RecordHeader> dropped;
    for (auto it = records_.begin(); it != records_.end();) {
        if (!drop(it->second)) {
            ++it;
            continue;
        }
        dropped.push_back(it->second->header);
        bytes_ -= it->second->envelope.size();
        it = records_.erase(it);
    }
    return dropped;
}

}  // namespace patchwave::net::gossip
