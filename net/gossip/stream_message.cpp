#include "net/gossip/stream_message.hpp"

#include <algorithm>

namespace patchwave::net::gossip {

namespace {

constexpr std::array<std::uint8_t, 4> kMagic{'P', 'W', 'S', 0x01};

enum class Kind : std::uint8_t {
    join = 1,
    push_pull = 2,
    push_pull_reply = 3,
    fetch_certificates = 4,
    certificates = 5,
    fetch_records = 6,
    records = 7,
    held = 8,
    refused = 9,
    ping = 10,
    pong = 11,
};

// Smallest encodings, used to refuse counts the remaining bytes cannot hold
// before reserving memory for them.
constexpr std::size_t kMinMemberEntry = 32 + 4 + 1 + Address::kEncodedSize + 1 + 1 + 1;
constexpr std::size_t kMinHeader = 1 + 32 + 1 + 8;

Status check_count(std::size_t count, std::size_t cap, std::string_view what) {
    if (count > cap) {
        return fail(Errc::limit, "gossip stream: " + std::to_string(count) + " " + std::string(what) + ", at most "
                                     + std::to_string(cap));
    }
    return {};
}

void write_state(ByteWriter& writer, const State& state) {
    writer.u32(static_cast<std::uint32_t>(state.members.size()));
    for (const auto& member : state.members)
        write_member_entry(writer, member);
    writer.u32(static_cast<std::uint32_t>(state.records.size()));
    for (const auto& header : state.records)
        writer.header(header);
}

Status check_state(const State& state) {
    if (auto s = check_count(state.members.size(), kMaxStateMembers, "members"); !s) return s;
    return check_count(state.records.size(), kMaxStateRecords, "record headers");
}

Status read_state(ByteReader& reader, State& state) {
    std::uint32_t members = reader.u32();
    if (auto s = check_count(members, kMaxStateMembers, "members"); !s) return s;
    if (std::size_t{members} * kMinMemberEntry > reader.remaining()) reader.invalidate();
    if (!reader.ok()) return {};
    state.members.reserve(members);
    for (std::uint32_t i = 0; i < members && reader.ok(); ++i)
        state.members.push_back(read_member_entry(reader));
    std::uint32_t records = reader.u32();
    if (auto s = check_count(records, kMaxStateRecords, "record headers"); !s) return s;
    if (std::size_t{records} * kMinHeader > reader.remaining()) reader.invalidate();
    if (!reader.ok()) return {};
    state.records.reserve(records);
    for (std::uint32_t i = 0; i < records && reader.ok(); ++i)
        state.records.push_back(reader.header());
    return {};
}

Status write_message(ByteWriter& writer, const StreamMessage& message) {
    return std::visit(
        [&](const auto& value) -> Status {
            using T = std::decay_t<decltype(value)>;
            if constexpr (std::is_same_v<T, JoinRequest>) {
                if (value.certificate.empty() || value.certificate.size() > kMaxCertificateSize) {
                    return fail(Errc::limit, "gossip join: certificate of " + std::to_string(value.certificate.size())
                                                 + " bytes (1-" + std::to_string(kMaxCertificateSize) + ")");
                }
                writer.u8(static_cast<std::uint8_t>(Kind::join));
                write_member_entry(writer, value.self);
                writer.u32(static_cast<std::uint32_t>(value.certificate.size()));
                writer.bytes(value.certificate);
            } else if constexpr (std::is_same_v<T, PushPull>) {
                if (auto s = check_state(value.state); !s) return s;
                if ((value.flags & ~PushPull::kKnownFlags) != 0) {
                    return fail(Errc::invalid_argument, "gossip push-pull: unknown flags");
                }
                writer.u8(static_cast<std::uint8_t>(Kind::push_pull));
                writer.fixed(value.sender);
                writer.u8(value.flags);
                write_state(writer, value.state);
            } else if constexpr (std::is_same_v<T, PushPullReply>) {
                if (auto s = check_state(value.state); !s) return s;
                writer.u8(static_cast<std::uint8_t>(Kind::push_pull_reply));
                write_state(writer, value.state);
            } else if constexpr (std::is_same_v<T, FetchCertificates>) {
                if (auto s = check_count(value.ids.size(), kMaxFetchIds, "ids"); !s) return s;
                writer.u8(static_cast<std::uint8_t>(Kind::fetch_certificates));
                writer.u16(static_cast<std::uint16_t>(value.ids.size()));
                for (const auto& id : value.ids)
                    writer.fixed(id);
            } else if constexpr (std::is_same_v<T, Certificates>) {
                if (auto s = check_count(value.envelopes.size(), kMaxFetchIds, "certificates"); !s) return s;
                writer.u8(static_cast<std::uint8_t>(Kind::certificates));
                writer.u16(static_cast<std::uint16_t>(value.envelopes.size()));
                for (const auto& envelope : value.envelopes) {
                    if (envelope.empty() || envelope.size() > kMaxCertificateSize) {
                        return fail(Errc::limit,
                                    "gossip stream: certificate of " + std::to_string(envelope.size()) + " bytes");
                    }
                    writer.u32(static_cast<std::uint32_t>(envelope.size()));
                    writer.bytes(envelope);
                }
            } else if constexpr (std::is_same_v<T, FetchRecords> || std::is_same_v<T, Held>) {
                if (auto s = check_count(value.headers.size(), kMaxFetchHeaders, "headers"); !s) return s;
                writer.u8(static_cast<std::uint8_t>(std::is_same_v<T, Held> ? Kind::held : Kind::fetch_records));
                writer.u16(static_cast<std::uint16_t>(value.headers.size()));
                for (const auto& header : value.headers) {
                    if (auto s = validate(header); !s) return s;
                    writer.header(header);
                }
            } else if constexpr (std::is_same_v<T, Records>) {
                if (auto s = check_count(value.records.size(), kMaxRecordsPerMessage, "records"); !s) return s;
                writer.u8(static_cast<std::uint8_t>(Kind::records));
                writer.u16(static_cast<std::uint16_t>(value.records.size()));
                for (const auto& record : value.records) {
                    if (auto s = validate(record->header); !s) return s;
                    if (record->envelope.empty() || record->envelope.size() > Record::kMaxEnvelopeSize) {
                        return fail(Errc::limit, "gossip stream: record " + to_string(record->header) + " of "
                                                     + std::to_string(record->envelope.size()) + " bytes");
                    }
                    writer.header(record->header);
                    writer.u32(static_cast<std::uint32_t>(record->envelope.size()));
                    writer.bytes(record->envelope);
                }
            } else if constexpr (std::is_same_v<T, StreamPing>) {
                writer.u8(static_cast<std::uint8_t>(Kind::ping));
                writer.fixed(value.target);
                writer.u32(value.incarnation);
                writer.u8(value.suspected ? 1 : 0);
            } else if constexpr (std::is_same_v<T, Pong>) {
                writer.u8(static_cast<std::uint8_t>(Kind::pong));
                write_member_entry(writer, value.self);
            } else {
                if (value.reason.size() > kMaxReasonLength) {
                    return fail(Errc::limit,
                                "gossip stream: refusal reason over " + std::to_string(kMaxReasonLength) + " bytes");
                }
                writer.u8(static_cast<std::uint8_t>(Kind::refused));
                writer.u16(static_cast<std::uint16_t>(value.reason.size()));
                writer.bytes(ByteView(reinterpret_cast<const std::uint8_t*>(value.reason.data()), value.reason.size()));
            }
            return {};
        },
        message);
}

Result<StreamMessage> read_message(ByteReader& reader) {
    std::uint8_t kind = reader.u8();
    switch (static_cast<Kind>(kind)) {
        case Kind::join: {
            JoinRequest join;
            join.self = read_member_entry(reader);
            std::uint32_t length = reader.u32();
            if (length == 0 || length > kMaxCertificateSize) {
                return fail(Errc::limit, "gossip join: certificate of " + std::to_string(length) + " bytes");
            }
            ByteView certificate = reader.bytes(length);
            join.certificate.assign(certificate.begin(), certificate.end());
            return join;
        }
        case Kind::push_pull: {
            PushPull push;
            push.sender = reader.fixed<32>();
            push.flags = reader.u8();
            if (reader.ok() && (push.flags & ~PushPull::kKnownFlags) != 0) {
                return fail(Errc::parse, "gossip push-pull: unknown flags");
            }
            if (auto s = read_state(reader, push.state); !s) return std::unexpected(s.error());
            return push;
        }
        case Kind::push_pull_reply: {
            PushPullReply reply;
            if (auto s = read_state(reader, reply.state); !s) return std::unexpected(s.error());
            return reply;
        }
        case Kind::fetch_certificates: {
            FetchCertificates fetch;
            std::uint16_t count = reader.u16();
            if (auto s = check_count(count, kMaxFetchIds, "ids"); !s) return std::unexpected(s.error());
            if (std::size_t{count} * 32 > reader.remaining()) reader.invalidate();
            for (std::uint16_t i = 0; i < count && reader.ok(); ++i)
                fetch.ids.push_back(reader.fixed<32>());
            return fetch;
        }
        case Kind::certificates: {
            Certificates certificates;
            std::uint16_t count = reader.u16();
            if (auto s = check_count(count, kMaxFetchIds, "certificates"); !s) return std::unexpected(s.error());
            for (std::uint16_t i = 0; i < count && reader.ok(); ++i) {
                std::uint32_t length = reader.u32();
                if (reader.ok() && (length == 0 || length > kMaxCertificateSize)) {
                    return fail(Errc::limit, "gossip stream: certificate of " + std::to_string(length) + " bytes");
                }
                ByteView envelope = reader.bytes(length);
                certificates.envelopes.emplace_back(envelope.begin(), envelope.end());
            }
            return certificates;
        }
        case Kind::fetch_records:
        case Kind::held: {
            std::vector<RecordHeader> headers;
            std::uint16_t count = reader.u16();
            if (auto s = check_count(count, kMaxFetchHeaders, "headers"); !s) return std::unexpected(s.error());
            if (std::size_t{count} * kMinHeader > reader.remaining()) reader.invalidate();
            for (std::uint16_t i = 0; i < count && reader.ok(); ++i)
                headers.push_back(reader.header());
            if (static_cast<Kind>(kind) == Kind::held) return Held{std::move(headers)};
            return FetchRecords{std::move(headers)};
        }
        case Kind::records: {
            Records records;
            std::uint16_t count = reader.u16();
            if (auto s = check_count(count, kMaxRecordsPerMessage, "records"); !s) return std::unexpected(s.error());
            for (std::uint16_t i = 0; i < count && reader.ok(); ++i) {
                auto record = std::make_shared<Record>();
                record->header = reader.header();
                std::uint32_t length = reader.u32();
                if (reader.ok() && (length == 0 || length > Record::kMaxEnvelopeSize)) {
                    return fail(Errc::limit, "gossip stream: record envelope of " + std::to_string(length) + " bytes");
                }
                ByteView envelope = reader.bytes(length);
                record->envelope.assign(envelope.begin(), envelope.end());
                records.records.push_back(std::move(record));
            }
            return records;
        }
        case Kind::ping: {
            StreamPing ping;
            ping.target = reader.fixed<32>();
            ping.incarnation = reader.u32();
            std::uint8_t suspected = reader.u8();
            if (suspected > 1) reader.invalidate();
            ping.suspected = suspected == 1;
            return ping;
        }
        case Kind::pong:
            return Pong{read_member_entry(reader)};
        case Kind::refused: {
            std::uint16_t length = reader.u16();
            if (length > kMaxReasonLength) return fail(Errc::limit, "gossip stream: refusal reason too long");
            ByteView text = reader.bytes(length);
            return Refused{std::string(text.begin(), text.end())};
        }
    }
    if (!reader.ok()) return fail(Errc::parse, "gossip stream: truncated");
    return fail(Errc::parse, "gossip stream: unknown kind " + std::to_string(kind));
}

}  // namespace

Result<Bytes> encode_stream_message(const StreamMessage& message) {
    Bytes bytes;
    ByteWriter writer(bytes);
    writer.fixed(kMagic);
    if (auto status = write_message(writer, message); !status) return std::unexpected(status.error());
    if (bytes.size() > kMaxStreamMessageSize) {
        return fail(Errc::limit, "gossip stream message of " + std::to_string(bytes.size()) + " bytes is over the cap");
    }
    return bytes;
}

Result<StreamMessage> decode_stream_message(ByteView bytes, std::size_t max_size) {
    max_size = std::min(max_size, kMaxStreamMessageSize);
    if (bytes.size() > max_size) {
        return fail(Errc::limit, "gossip stream message of " + std::to_string(bytes.size()) + " bytes is over the "
                                     + std::to_string(max_size) + "-byte cap");
    }
    ByteReader reader(bytes);
    if (reader.fixed<4>() != kMagic || !reader.ok()) {
        return fail(Errc::parse, "gossip stream: bad magic or format version");
    }
    auto message = read_message(reader);
    if (!message) return message;
    if (auto status = finish_decode(reader, "gossip stream message"); !status) {
        return std::unexpected(status.error());
    }
    return message;
}

}  // namespace patchwave::net::gossip
