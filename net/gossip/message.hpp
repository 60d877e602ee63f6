// The datagram half of the gossip wire format: probes (ping, indirect ping,
// ack, nack) and gossip, each carrying piggybacked items (membership news, records, digests).
#pragma once

#include <cstddef>
#include <cstdint>
#include <variant>
#include <vector>

#include "common/error.hpp"
#include "net/gossip/address.hpp"
#include "net/gossip/peer_hints.hpp"
#include "net/gossip/record.hpp"
#include "net/gossip/transport.hpp"
#include "net/gossip/wire.hpp"

namespace patchwave::net::gossip {

/// Largest datagram any decoder accepts (the UDP payload limit); transports
/// usually allow far less (NodeConfig::max_datagram_size, 1400 by default).
inline constexpr std::size_t kMaxDatagramSize = 65'507;
/// Piggybacked items in one datagram.
inline constexpr std::size_t kMaxItemsPerDatagram = 255;

/// Wire values of a member's state. `left` is a graceful leave: like dead,
/// but announced by the member itself.
enum class MemberState : std::uint8_t { alive = 0, suspect = 1, dead = 2, left = 3 };
std::string_view to_string(MemberState state);

/// Role bits a member advertises.
inline constexpr std::uint8_t kRoleCollector = 0x01;  ///< receives upstream (status) records
inline constexpr std::uint8_t kKnownRoles = kRoleCollector;

/// One member as gossip describes it: in alive items and in push-pull state.
struct MemberEntry {
    MemberId id{};
    std::uint32_t incarnation = 0;
    MemberState state = MemberState::alive;
    Address address;
    std::uint8_t roles = 0;
    PeerHint hint;
    friend bool operator==(const MemberEntry&, const MemberEntry&) = default;
};

// ---- primary messages --------------------------------------------------

/// "Are you `target`?": answered by an ack with the same sequence number.
/// Naming the target keeps a new process at a reused address from answering
/// for the member that lived there.
struct Ping {
    std::uint32_t seq = 0;
    MemberId target{};
    MemberId source{};
};
/// "Please ping `target` for me": the relay answers with an ack when the
/// target answered it, or a nack when it did not (Lifeguard).
struct PingReq {
    std::uint32_t seq = 0;
    MemberId target{};
    Address target_address;
};
struct Ack {
    std::uint32_t seq = 0;
};
struct Nack {
    std::uint32_t seq = 0;
};
/// Nothing but piggybacked items.
struct Gossip {};

using Primary = std::variant<Ping, PingReq, Ack, Nack, Gossip>;

// ---- piggybacked items ---------------------------------------------------

struct AliveItem {
    MemberEntry member;  ///< state is alive
};
/// `accuser` suspects (or declares dead) `id` at `incarnation`. In a dead
/// item an accuser equal to id means the member left by itself.
struct SuspectItem {
    MemberId id{};
    std::uint32_t incarnation = 0;
    MemberId accuser{};
};
struct DeadItem {
    MemberId id{};
    std::uint32_t incarnation = 0;
    MemberId accuser{};
};
/// A whole record, when it fits in a datagram.
struct RecordItem {
    RecordPtr record;
};
/// "I hold this version": a member lacking it fetches it over a stream.
struct DigestItem {
    RecordHeader header;
};

using Item = std::variant<AliveItem, SuspectItem, DeadItem, RecordItem, DigestItem>;

/// Encodes one item with its type and length prefix, ready to append to a
/// datagram. Errc::limit when it could never fit in a datagram.
Result<Bytes> encode_item(const Item& item);

/// A decoded datagram.
struct Datagram {
    Primary primary;
    std::vector<Item> items;
};

/// Builds a datagram from a primary message and pre-encoded items (the
/// broadcast queue keeps items encoded), never exceeding `max_size`.
class DatagramBuilder {
public:
    DatagramBuilder(const Primary& primary, std::size_t max_size);
    /// Appends an encoded item when it fits and the count allows; false otherwise.
    bool try_add(ByteView encoded_item);
    std::size_t room() const;
    std::size_t item_count() const { return items_; }
    Bytes finish() &&;

private:
    Bytes bytes_;
    std::size_t count_offset_ = 0;
    std::size_t items_ = 0;
    std::size_t max_size_;
};

/// The encoding of a primary message without items.
Bytes encode_datagram(const Primary& primary);
Bytes encode_datagram(const Primary& primary, const std::vector<Bytes>& encoded_items);

/// Decodes a datagram. Refuses, before reading further, input over
/// `max_size`; then bad magic, unknown kinds and item types, truncation,
/// item lengths that disagree with their contents, invalid headers, and
/// trailing bytes. Errc::limit or Errc::parse.
Result<Datagram> decode_datagram(ByteView bytes, std::size_t max_size = kMaxDatagramSize);

// Shared with the stream codec.
void write_member_entry(ByteWriter& writer, const MemberEntry& entry);
MemberEntry read_member_entry(ByteReader& reader);

}  // namespace patchwave::net::gossip
