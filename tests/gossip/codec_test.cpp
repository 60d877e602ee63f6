// Wire format: every message and item round-trips, and every decoder refuses
// truncated, oversized, malformed and trailing-garbage input.
#include <catch2/catch.hpp>

#include "net/gossip/message.hpp"
#include "net/gossip/stream_message.hpp"
#include "net/gossip/wire.hpp"

using namespace patchwave;
using namespace patchwave::net::gossip;

namespace {

MemberId member(std::uint8_t n) {
    MemberId id{};
    id.fill(n);
    return id;
}

MemberEntry sample_entry(std::uint8_t n) {
    MemberEntry entry;
    entry.id = member(n);
    entry.incarnation = 7u + n;
    entry.state = MemberState::suspect;
    entry.address = Address::ipv4({10, 0, 0, n}, 7946);
    entry.roles = kRoleCollector;
    entry.hint.swarm_endpoint = Address::ipv4({10, 0, 0, n}, 6881);
    rollout::BundleId bundle{};
    bundle.fill(0xb0);
    entry.hint.seeding = {bundle};
    return entry;
}

RecordHeader sample_header() {
    return {{RecordType::control, MemberId{}, "2026-11-B"}, 42};
}

RecordPtr sample_record(std::size_t size = 100) {
    return std::make_shared<Record>(Record{sample_header(), Bytes(size, 0x5a)});
}

std::vector<Item> sample_items() {
    MemberEntry alive = sample_entry(1);
    alive.state = MemberState::alive;
    return {AliveItem{alive}, SuspectItem{member(2), 3, member(4)}, DeadItem{member(5), 6, member(5)},
            RecordItem{sample_record()}, DigestItem{sample_header()}};
}

Bytes encode_all(const Primary& primary) {
    std::vector<Bytes> items;
    for (const auto& item : sample_items())
        items.push_back(*encode_item(item));
    return encode_datagram(primary, items);
}

bool same_item(const Item& a, const Item& b) {
    if (a.index() != b.index()) return false;
    if (auto* x = std::get_if<AliveItem>(&a)) return x->member == std::get<AliveItem>(b).member;
    if (auto* x = std::get_if<SuspectItem>(&a)) {
        auto& y = std::get<SuspectItem>(b);
        return x->id == y.id && x->incarnation == y.incarnation && x->accuser == y.accuser;
    }
    if (auto* x = std::get_if<DeadItem>(&a)) {
        auto& y = std::get<DeadItem>(b);
        return x->id == y.id && x->incarnation == y.incarnation && x->accuser == y.accuser;
    }
    if (auto* x = std::get_if<RecordItem>(&a)) {
        auto& y = std::get<RecordItem>(b);
        return x->record->header == y.record->header && x->record->envelope == y.record->envelope;
    }
    return std::get<DigestItem>(a).header == std::get<DigestItem>(b).header;
}

std::vector<StreamMessage> sample_stream_messages() {
    State state{{sample_entry(1), sample_entry(2)}, {sample_header()}};
    return {JoinRequest{sample_entry(3), Bytes(300, 0x11)},
            PushPull{member(9), PushPull::kSyncMembers, state},
            PushPull{member(8), PushPull::kWantsUpstream, State{{}, {sample_header()}}},
            PushPullReply{state},
            FetchCertificates{{member(1), member(2)}},
            Certificates{{Bytes(250, 0x22), Bytes(260, 0x33)}},
            FetchRecords{{sample_header()}},
            Records{{sample_record(), sample_record(2000)}},
            Held{{sample_header()}},
            Refused{"certificate not admitted: expired"},
            StreamPing{member(4), 9, true},
            Pong{sample_entry(5)}};
}

}  // namespace

TEST_CASE("datagrams round-trip every primary message with every kind of item", "[gossip]") {
    // Encoding then decoding gives back the same primary message and items.
    std::vector<Primary> primaries{Ping{1, member(1), member(2)}, PingReq{2, member(3), Address::for_sim_index(9)},
                                   Ack{3}, Nack{4}, Gossip{}};
    for (const auto& primary : primaries) {
        Bytes bytes = encode_all(primary);
        auto decoded = decode_datagram(bytes);
        REQUIRE(decoded);
        CHECK(decoded->primary.index() == primary.index());
        REQUIRE(decoded->items.size() == sample_items().size());
        for (std::size_t i = 0; i < decoded->items.size(); ++i)
            CHECK(same_item(decoded->items[i], sample_items()[i]));
    }
    auto ping = decode_datagram(encode_datagram(Ping{77, member(1), member(2)}));
    REQUIRE(ping);
    CHECK(std::get<Ping>(ping->primary).seq == 77);
    CHECK(std::get<Ping>(ping->primary).target == member(1));
    CHECK(std::get<Ping>(ping->primary).source == member(2));
    auto request = decode_datagram(encode_datagram(PingReq{5, member(3), Address::for_sim_index(9)}));
    REQUIRE(request);
    CHECK(std::get<PingReq>(request->primary).target_address == Address::for_sim_index(9));
}

TEST_CASE("datagram decoding refuses every truncation", "[gossip]") {
    // Each proper prefix of a valid datagram is refused, none crashes.
    Bytes bytes = encode_all(Ping{1, member(1), member(2)});
    for (std::size_t length = 0; length < bytes.size(); ++length) {
        INFO("length " << length);
        CHECK_FALSE(decode_datagram(ByteView(bytes.data(), length)));
    }
}

TEST_CASE("datagram decoding refuses trailing bytes, bad magic, unknown kinds and oversize input", "[gossip]") {
    // Anything but an exact, known, within-cap encoding is refused.
    Bytes good = encode_all(Gossip{});
    REQUIRE(decode_datagram(good));

    Bytes trailing = good;
    trailing.push_back(0);
    auto refused = decode_datagram(trailing);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message().find("trailing") != std::string::npos);

    Bytes magic = good;
    magic[3] = 0x02;  // a future format version
    CHECK_FALSE(decode_datagram(magic));

    Bytes kind = good;
    kind[4] = 99;
    CHECK_FALSE(decode_datagram(kind));

    Bytes item_type = encode_datagram(Gossip{}, {*encode_item(DigestItem{sample_header()})});
    item_type[6] = 77;  // the first item's type byte
    CHECK_FALSE(decode_datagram(item_type));

    auto over = decode_datagram(good, good.size() - 1);
    REQUIRE_FALSE(over);
    CHECK(over.error().is(Errc::limit));
    Bytes huge(kMaxDatagramSize + 1, 0);
    CHECK(decode_datagram(huge).error().is(Errc::limit));
}

TEST_CASE("a datagram item whose length disagrees with its contents is refused", "[gossip]") {
    // The item's length prefix must match exactly what its fields take.
    Bytes item = *encode_item(SuspectItem{member(1), 2, member(3)});
    // One byte longer than the fields: the extra byte is inside the item.
    Bytes longer = item;
    longer.push_back(0);
    longer[2] = static_cast<std::uint8_t>(longer[2] + 1);
    CHECK_FALSE(decode_datagram(encode_datagram(Gossip{}, {longer})));
    // One byte shorter: the fields run past the item.
    Bytes shorter(item.begin(), item.end() - 1);
    shorter[2] = static_cast<std::uint8_t>(shorter[2] - 1);
    CHECK_FALSE(decode_datagram(encode_datagram(Gossip{}, {shorter})));
}

TEST_CASE("invalid member entries and record headers in items are refused", "[gossip]") {
    // Out-of-range states, unknown roles, bad hints and bad headers never decode.
    MemberEntry entry = sample_entry(1);
    entry.state = MemberState::alive;
    Bytes good = *encode_item(AliveItem{entry});
    REQUIRE(decode_datagram(encode_datagram(Gossip{}, {good})));

    Bytes suspect_alive = good;
    suspect_alive[3 + 32 + 4] = static_cast<std::uint8_t>(MemberState::dead);  // alive items must say alive
    CHECK_FALSE(decode_datagram(encode_datagram(Gossip{}, {suspect_alive})));

    Bytes roles = good;
    roles[3 + 32 + 4 + 1 + Address::kEncodedSize] = 0x80;
    CHECK_FALSE(decode_datagram(encode_datagram(Gossip{}, {roles})));

    RecordHeader zero = sample_header();
    zero.version = 0;
    Bytes digest = *encode_item(DigestItem{sample_header()});
    Bytes zero_digest = *encode_item(DigestItem{zero});
    CHECK(decode_datagram(encode_datagram(Gossip{}, {digest})));
    CHECK_FALSE(decode_datagram(encode_datagram(Gossip{}, {zero_digest})));

    RecordHeader bad_id = sample_header();
    bad_id.key.id = "no spaces";
    CHECK_FALSE(decode_datagram(encode_datagram(Gossip{}, {*encode_item(DigestItem{bad_id})})));

    Bytes bad_type = digest;
    bad_type[3] = 0;  // record type 0 does not exist
    CHECK_FALSE(decode_datagram(encode_datagram(Gossip{}, {bad_type})));
}

TEST_CASE("the datagram builder never exceeds its size and an oversized item is refused", "[gossip]") {
    // Items that do not fit are left out; an item bigger than any datagram cannot be encoded.
    DatagramBuilder builder(Gossip{}, 600);
    Bytes item = *encode_item(RecordItem{sample_record(200)});
    CHECK(builder.try_add(item));
    CHECK(builder.try_add(item));
    CHECK_FALSE(builder.try_add(item));
    Bytes bytes = std::move(builder).finish();
    CHECK(bytes.size() <= 600);
    auto decoded = decode_datagram(bytes);
    REQUIRE(decoded);
    CHECK(decoded->items.size() == 2);

    CHECK(encode_item(RecordItem{sample_record(70'000)}).error().is(Errc::limit));
}

TEST_CASE("stream messages round-trip", "[gossip]") {
    // Every stream message kind decodes to what was encoded.
    for (const auto& message : sample_stream_messages()) {
        auto bytes = encode_stream_message(message);
        REQUIRE(bytes);
        auto decoded = decode_stream_message(*bytes);
        REQUIRE(decoded);
        REQUIRE(decoded->index() == message.index());
        if (auto* records = std::get_if<Records>(&message)) {
            auto& got = std::get<Records>(*decoded);
            REQUIRE(got.records.size() == records->records.size());
            for (std::size_t i = 0; i < got.records.size(); ++i) {
                CHECK(got.records[i]->header == records->records[i]->header);
                CHECK(got.records[i]->envelope == records->records[i]->envelope);
            }
        } else {
            CHECK(*encode_stream_message(*decoded) == *bytes);
        }
    }
}

TEST_CASE("stream decoding refuses truncation, trailing bytes and oversize input", "[gossip]") {
    // Each proper prefix, any extra byte, and input over the cap are refused.
    for (const auto& message : sample_stream_messages()) {
        Bytes bytes = *encode_stream_message(message);
        for (std::size_t length = 0; length < bytes.size(); ++length) {
            INFO("kind " << message.index() << " length " << length);
            CHECK_FALSE(decode_stream_message(ByteView(bytes.data(), length)));
        }
        Bytes trailing = bytes;
        trailing.push_back(0xff);
        CHECK_FALSE(decode_stream_message(trailing));
        CHECK(decode_stream_message(bytes, bytes.size() - 1).error().is(Errc::limit));
    }
}

TEST_CASE("stream messages over their count caps are neither encoded nor decoded", "[gossip]") {
    // Lists beyond their caps are refused on both sides, before any allocation.
    FetchCertificates too_many;
    too_many.ids.assign(kMaxFetchIds + 1, member(1));
    CHECK(encode_stream_message(too_many).error().is(Errc::limit));

    // A count field claiming more members than the cap allows.
    Bytes bytes = *encode_stream_message(PushPullReply{State{}});
    bytes[5] = 0x7f;  // member count, big-endian u32: 0x7f000000
    auto decoded = decode_stream_message(bytes);
    REQUIRE_FALSE(decoded);
    CHECK(decoded.error().is(Errc::limit));

    // A count within the cap that the remaining bytes cannot hold.
    Bytes short_count = *encode_stream_message(PushPullReply{State{}});
    short_count[8] = 100;  // 100 members, no bytes for them
    CHECK_FALSE(decode_stream_message(short_count));

    JoinRequest join{sample_entry(1), Bytes(kMaxCertificateSize + 1, 1)};
    CHECK(encode_stream_message(join).error().is(Errc::limit));
    Records big{{std::make_shared<Record>(Record{sample_header(), Bytes(Record::kMaxEnvelopeSize + 1, 1)})}};
    CHECK(encode_stream_message(big).error().is(Errc::limit));
}

TEST_CASE("addresses print and round-trip through the swarm endpoint type", "[gossip]") {
    // Simulator and IPv4 addresses have readable forms; endpoints convert both ways.
    CHECK(to_string(Address::for_sim_index(12)) == "sim#12");
    CHECK(Address::for_sim_index(12).sim_index() == 12u);
    Address v4 = Address::ipv4({192, 168, 1, 20}, 6881);
    CHECK(to_string(v4) == "192.168.1.20:6881");
    CHECK_FALSE(v4.sim_index());
    CHECK(from_endpoint(to_endpoint(v4)) == v4);
    CHECK(to_endpoint(v4).address().is_v4());
}
