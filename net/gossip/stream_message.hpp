// The stream half of the gossip wire format: join, push-pull state exchange,
// and fetching or delivering certificates and records too big or too many for a datagram.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "common/error.hpp"
#include "net/gossip/message.hpp"
#include "net/gossip/record.hpp"
#include "net/gossip/transport.hpp"

namespace patchwave::net::gossip {

/// Largest stream message any decoder accepts: the full member list of a
/// 100,000-member fleet fits with room to spare.
inline constexpr std::size_t kMaxStreamMessageSize = 32 * 1024 * 1024;
inline constexpr std::size_t kMaxStateMembers = 262'144;
inline constexpr std::size_t kMaxStateRecords = 262'144;
inline constexpr std::size_t kMaxFetchIds = 1024;
inline constexpr std::size_t kMaxFetchHeaders = 4096;
inline constexpr std::size_t kMaxRecordsPerMessage = 4096;
/// One certificate envelope: a 16 KiB body plus signatures and framing.
inline constexpr std::size_t kMaxCertificateSize = 20 * 1024;
inline constexpr std::size_t kMaxReasonLength = 256;

/// What a member knows, as push-pull exchanges it: every member it has not
/// forgotten (dead ones too, so that they can refute) and the header of
/// every record it holds.
struct State {
    std::vector<MemberEntry> members;
    std::vector<RecordHeader> records;
    friend bool operator==(const State&, const State&) = default;
};

/// A new member asks a seed to let it in: its own entry and certificate.
struct JoinRequest {
    MemberEntry self;
    Bytes certificate;
    friend bool operator==(const JoinRequest&, const JoinRequest&) = default;
};
/// Anti-entropy: the sender's state; answered by a PushPullReply with the
/// responder's. Each side then fetches what it lacks. Without
/// kSyncMembers only record headers travel (the frequent, cheap sync).
struct PushPull {
    static constexpr std::uint8_t kSyncMembers = 0x01;    ///< full member lists both ways
    static constexpr std::uint8_t kWantsUpstream = 0x02;  ///< the sender collects upstream records
    static constexpr std::uint8_t kKnownFlags = kSyncMembers | kWantsUpstream;

    MemberId sender{};
    std::uint8_t flags = kSyncMembers;
    State state;
    friend bool operator==(const PushPull&, const PushPull&) = default;
};
struct PushPullReply {
    State state;
    friend bool operator==(const PushPullReply&, const PushPullReply&) = default;
};
struct FetchCertificates {
    std::vector<MemberId> ids;
    friend bool operator==(const FetchCertificates&, const FetchCertificates&) = default;
};
struct Certificates {
    std::vector<Bytes> envelopes;
    friend bool operator==(const Certificates&, const Certificates&) = default;
};
struct FetchRecords {
    std::vector<RecordHeader> headers;
    friend bool operator==(const FetchRecords&, const FetchRecords&) = default;
};
/// Records: the reply to FetchRecords, or a delivery (upstream records
/// pushed to a collector), which is answered by Held.
struct Records {
    std::vector<RecordPtr> records;
};
/// What the responder now holds for the keys it was sent.
struct Held {
    std::vector<RecordHeader> headers;
    friend bool operator==(const Held&, const Held&) = default;
};
/// memberlist's TCP fallback: when a probe's datagrams go unanswered, the
/// prober also asks over a stream, which survives loss that UDP does not.
/// Also the last check before a suspect is declared dead: with `suspected`
/// the target learns it is suspected at `incarnation` and refutes first.
struct StreamPing {
    MemberId target{};
    std::uint32_t incarnation = 0;
    bool suspected = false;
    friend bool operator==(const StreamPing&, const StreamPing&) = default;
};
/// The answer to a StreamPing from the member it named: its own current
/// entry, so the prober learns a refutation it may have missed.
struct Pong {
    MemberEntry self;
    friend bool operator==(const Pong&, const Pong&) = default;
};
/// A refusal with a one-line reason ("certificate not admitted: ...").
struct Refused {
    std::string reason;
    friend bool operator==(const Refused&, const Refused&) = default;
};

using StreamMessage = std::variant<JoinRequest, PushPull, PushPullReply, FetchCertificates, Certificates, FetchRecords,
                                   Records, Held, Refused, StreamPing, Pong>;

/// Errc::limit when a list or field is over its cap (the message would be
/// refused by every decoder, so it is never sent).
Result<Bytes> encode_stream_message(const StreamMessage& message);

/// Refuses input over `max_size` before reading it; then bad magic, unknown
/// kinds, counts over their caps, truncation, invalid entries or headers,
/// and trailing bytes.
Result<StreamMessage> decode_stream_message(ByteView bytes, std::size_t max_size = kMaxStreamMessageSize);

}  // namespace patchwave::net::gossip
