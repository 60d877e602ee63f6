#include "net/gossip/record.hpp"

#include "rollout/ids.hpp"

namespace patchwave::net::gossip {

std::string_view to_string(RecordType type) {
    switch (type) {
        case RecordType::root:
            return "root";
        case RecordType::manifest:
            return "manifest";
        case RecordType::control:
            return "control";
        case RecordType::certificate:
            return "certificate";
        case RecordType::status:
            return "status";
    }
    return "unknown";
}

bool is_valid_record_type(std::uint8_t value) {
    return value >= 1 && value <= kMaxRecordType;
}

std::size_t RecordKeyHash::operator()(const RecordKey& key) const noexcept {
    // Origins are SHA-256 key ids: their first bytes are already uniform.
    std::uint64_t hash = 0;
    for (std::size_t i = 0; i < 8; ++i)
        hash = (hash << 8) | key.origin[i];
    hash ^= static_cast<std::uint64_t>(key.type) * 0x9e3779b97f4a7c15ull;
    for (char c : key.id)
        hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    return static_cast<std::size_t>(hash);
}

std::string to_string(const RecordHeader& header) {
    std::string text(to_string(header.key.type));
    if (header.key.origin != MemberId{}) text += "/" + rollout::short_hex(header.key.origin);
    if (!header.key.id.empty()) text += "/" + header.key.id;
    return text + "/v" + std::to_string(header.version);
}

Status validate(const RecordHeader& header) {
    if (!is_valid_record_type(static_cast<std::uint8_t>(header.key.type))) {
        return fail(Errc::parse, "record: unknown type " + std::to_string(static_cast<int>(header.key.type)));
    }
    if (header.key.id.size() > RecordKey::kMaxIdLength) {
        return fail(Errc::limit, "record: id longer than " + std::to_string(RecordKey::kMaxIdLength) + " bytes");
    }
    for (char c : header.key.id) {
        // Rollout ids are [A-Za-z0-9._-]; anything else cannot be a real key.
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_'
                  || c == '-';
        if (!ok) return fail(Errc::parse, "record: id has a character outside [A-Za-z0-9._-]");
    }
    if (header.version == 0) return fail(Errc::parse, "record: version 0 (versions start at 1)");
    return {};
}

}  // namespace patchwave::net::gossip
