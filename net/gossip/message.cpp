#include "net/gossip/message.hpp"

#include <algorithm>

namespace patchwave::net::gossip {

namespace {

constexpr std::array<std::uint8_t, 4> kMagic{'P', 'W', 'G', 0x01};

enum class Kind : std::uint8_t { ping = 1, ping_req = 2, ack = 3, nack = 4, gossip = 5 };
enum class ItemType : std::uint8_t { alive = 1, suspect = 2, dead = 3, record = 4, digest = 5 };

// type u8 + length u16 in front of every item's payload.
constexpr std::size_t kItemPrefix = 3;

void write_primary(ByteWriter& writer, const Primary& primary) {
    writer.fixed(kMagic);
    std::visit(
        [&](const auto& message) {
            using T = std::decay_t<decltype(message)>;
            if constexpr (std::is_same_v<T, Ping>) {
                writer.u8(static_cast<std::uint8_t>(Kind::ping));
                writer.u32(message.seq);
                writer.fixed(message.target);
                writer.fixed(message.source);
            } else if constexpr (std::is_same_v<T, PingReq>) {
                writer.u8(static_cast<std::uint8_t>(Kind::ping_req));
                writer.u32(message.seq);
                writer.fixed(message.target);
                writer.address(message.target_address);
            } else if constexpr (std::is_same_v<T, Ack>) {
                writer.u8(static_cast<std::uint8_t>(Kind::ack));
                writer.u32(message.seq);
            } else if constexpr (std::is_same_v<T, Nack>) {
                writer.u8(static_cast<std::uint8_t>(Kind::nack));
                writer.u32(message.seq);
            } else {
                writer.u8(static_cast<std::uint8_t>(Kind::gossip));
            }
        },
        primary);
}

Result<Primary> read_primary(ByteReader& reader) {
    auto magic = reader.fixed<4>();
    if (!reader.ok()) return fail(Errc::parse, "gossip datagram: truncated");
    if (magic != kMagic) return fail(Errc::parse, "gossip datagram: bad magic or format version");
    std::uint8_t kind = reader.u8();
    switch (static_cast<Kind>(kind)) {
        case Kind::ping: {
            Ping ping;
            ping.seq = reader.u32();
            ping.target = reader.fixed<32>();
            ping.source = reader.fixed<32>();
            return ping;
        }
        case Kind::ping_req: {
            PingReq request;
            request.seq = reader.u32();
            request.target = reader.fixed<32>();
            request.target_address = reader.address();
            return request;
        }
        case Kind::ack:
            return Ack{reader.u32()};
        case Kind::nack:
            return Nack{reader.u32()};
        case Kind::gossip:
            return Gossip{};
    }
    if (!reader.ok()) return fail(Errc::parse, "gossip datagram: truncated");
    return fail(Errc::parse, "gossip datagram: unknown kind " + std::to_string(kind));
}

Result<Item> read_item(std::uint8_t type, ByteView payload) {
    ByteReader reader(payload);
    Item item;
    switch (static_cast<ItemType>(type)) {
        case ItemType::alive: {
            AliveItem alive{read_member_entry(reader)};
            if (reader.ok() && alive.member.state != MemberState::alive) reader.invalidate();
            item = std::move(alive);
            break;
        }
        case ItemType::suspect: {
            SuspectItem suspect;
            suspect.id = reader.fixed<32>();
            suspect.incarnation = reader.u32();
            suspect.accuser = reader.fixed<32>();
            item = suspect;
            break;
        }
        case ItemType::dead: {
            DeadItem dead;
            dead.id = reader.fixed<32>();
            dead.incarnation = reader.u32();
            dead.accuser = reader.fixed<32>();
            item = dead;
            break;
        }
        case ItemType::record: {
            auto record = std::make_shared<Record>();
            record->header = reader.header();
            ByteView envelope = reader.bytes(reader.remaining());
            if (envelope.empty()) reader.invalidate();
            record->envelope.assign(envelope.begin(), envelope.end());
            item = RecordItem{std::move(record)};
            break;
        }
        case ItemType::digest:
            item = DigestItem{reader.header()};
            break;
        default:
            return fail(Errc::parse, "gossip datagram: unknown item type " + std::to_string(type));
    }
    if (auto status = finish_decode(reader, "gossip item"); !status) return std::unexpected(status.error());
    return item;
}

}  // namespace

std::string_view to_string(MemberState state) {
    switch (state) {
        case MemberState::alive:
            return "alive";
        case MemberState::suspect:
            return "suspect";
        case MemberState::dead:
            return "dead";
        case MemberState::left:
            return "left";
    }
    return "unknown";
}

void write_member_entry(ByteWriter& writer, const MemberEntry& entry) {
    writer.fixed(entry.id);
    writer.u32(entry.incarnation);
    writer.u8(static_cast<std::uint8_t>(entry.state));
    writer.address(entry.address);
    writer.u8(entry.roles);
    bool has_endpoint = !entry.hint.swarm_endpoint.unset();
    writer.u8(has_endpoint ? 1 : 0);
    if (has_endpoint) writer.address(entry.hint.swarm_endpoint);
    writer.u8(static_cast<std::uint8_t>(entry.hint.seeding.size()));
    for (const auto& bundle : entry.hint.seeding)
        writer.fixed(bundle);
}

MemberEntry read_member_entry(ByteReader& reader) {
    MemberEntry entry;
    entry.id = reader.fixed<32>();
    entry.incarnation = reader.u32();
    std::uint8_t state = reader.u8();
    entry.address = reader.address();
    entry.roles = reader.u8();
    std::uint8_t has_endpoint = reader.u8();
    if (has_endpoint == 1) entry.hint.swarm_endpoint = reader.address();
    std::uint8_t count = reader.u8();
    // An endpoint flag with an all-zero address would be a second encoding of
    // "no endpoint" (found by tests/fuzz): one encoding per entry.
    if (!reader.ok() || state > static_cast<std::uint8_t>(MemberState::left) || has_endpoint > 1
        || (has_endpoint == 1 && entry.hint.swarm_endpoint.unset()) || (entry.roles & ~kKnownRoles) != 0
        || count > PeerHint::kMaxSeeding) {
        reader.invalidate();
        return entry;
    }
    entry.state = static_cast<MemberState>(state);
    entry.hint.seeding.resize(count);
    for (auto& bundle : entry.hint.seeding)
        bundle = reader.fixed<32>();
    if (reader.ok() && !validate(entry.hint)) reader.invalidate();
    return entry;
}

Result<Bytes> encode_item(const Item& item) {
    Bytes bytes;
    ByteWriter writer(bytes);
    writer.u8(0);
    writer.u16(0);
    std::uint8_t type = 0;
    std::visit(
        [&](const auto& value) {
            using T = std::decay_t<decltype(value)>;
            if constexpr (std::is_same_v<T, AliveItem>) {
                type = static_cast<std::uint8_t>(ItemType::alive);
                write_member_entry(writer, value.member);
            } else if constexpr (std::is_same_v<T, SuspectItem> || std::is_same_v<T, DeadItem>) {
                type = static_cast<std::uint8_t>(std::is_same_v<T, SuspectItem> ? ItemType::suspect : ItemType::dead);
                writer.fixed(value.id);
                writer.u32(value.incarnation);
                writer.fixed(value.accuser);
            } else if constexpr (std::is_same_v<T, RecordItem>) {
                type = static_cast<std::uint8_t>(ItemType::record);
                writer.header(value.record->header);
                writer.bytes(value.record->envelope);
            } else {
                type = static_cast<std::uint8_t>(ItemType::digest);
                writer.header(value.header);
            }
        },
        item);
    std::size_t payload = bytes.size() - kItemPrefix;
    if (payload > 0xffff || bytes.size() > kMaxDatagramSize) {
        return fail(Errc::limit, "gossip item of " + std::to_string(bytes.size()) + " bytes cannot fit a datagram");
    }
    bytes[0] = type;
    writer.patch_u16(1, static_cast<std::uint16_t>(payload));
    return bytes;
}

DatagramBuilder::DatagramBuilder(const Primary& primary, std::size_t max_size)
    : max_size_(std::min(max_size, kMaxDatagramSize)) {
    ByteWriter writer(bytes_);
    write_primary(writer, primary);
    count_offset_ = bytes_.size();
    writer.u8(0);
}

std::size_t DatagramBuilder::room() const {
    return bytes_.size() >= max_size_ ? 0 : max_size_ - bytes_.size();
}

bool DatagramBuilder::try_add(ByteView encoded_item) {
    if (items_ >= kMaxItemsPerDatagram || encoded_item.size() > room()) return false;
    bytes_.insert(bytes_.end(), encoded_item.begin(), encoded_item.end());
    ++items_;
    bytes_[count_offset_] = static_cast<std::uint8_t>(items_);
    return true;
}

Bytes DatagramBuilder::finish() && {
    return std::move(bytes_);
}

Bytes encode_datagram(const Primary& primary) {
    return DatagramBuilder(primary, kMaxDatagramSize).finish();
}

Bytes encode_datagram(const Primary& primary, const std::vector<Bytes>& encoded_items) {
    DatagramBuilder builder(primary, kMaxDatagramSize);
    for (const auto& item : encoded_items)
        builder.try_add(item);
    return std::move(builder).finish();
}

Result<Datagram> decode_datagram(ByteView bytes, std::size_t max_size) {
    max_size = std::min(max_size, kMaxDatagramSize);
    if (bytes.size() > max_size) {
        return fail(Errc::limit, "gossip datagram of " + std::to_string(bytes.size()) + " bytes is over the "
                                     + std::to_string(max_size) + "-byte cap");
    }
    ByteReader reader(bytes);
    auto primary = read_primary(reader);
    if (!primary) return std::unexpected(primary.error());
    Datagram datagram{std::move(*primary), {}};
    std::uint8_t count = reader.u8();
    if (!reader.ok()) return fail(Errc::parse, "gossip datagram: truncated");
    datagram.items.reserve(count);
    for (std::uint8_t i = 0; i < count; ++i) {
        std::uint8_t type = reader.u8();
        std::uint16_t length = reader.u16();
        ByteView payload = reader.bytes(length);
        if (!reader.ok()) return fail(Errc::parse, "gossip datagram: item " + std::to_string(i) + " truncated");
        auto item = read_item(type, payload);
        if (!item) return std::unexpected(std::move(item.error()).with_context("item " + std::to_string(i)));
        datagram.items.push_back(std::move(*item));
    }
    if (auto status = finish_decode(reader, "gossip datagram"); !status) return std::unexpected(status.error());
    return datagram;
}

}  // namespace patchwave::net::gossip
