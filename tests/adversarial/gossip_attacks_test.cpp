// Attacks by members and on the wire (docs/security.md rows 13 and 14): a
// member forging or replaying another agent's status, and oversized
// datagrams, frames and records.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>

#include "adversary.hpp"
#include "net/gossip/asio/asio_address.hpp"
#include "net/gossip/asio/udp_tcp_transport.hpp"
#include "net/gossip/message.hpp"
#include "net/gossip/record_store.hpp"
#include "net/gossip/rollout_verifier.hpp"
#include "net/gossip/stream_message.hpp"
#include "orchestrator/schema.hpp"
#include "orchestrator/sqlite.hpp"
#include "orchestrator/status_store.hpp"
#include "support/io_loop.hpp"
#include "support/temp_dir.hpp"

using namespace patchwave;
using namespace patchwave::adversary;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using rollout::testing::test_key;
namespace gossip = patchwave::net::gossip;

namespace {

gossip::RecordHeader status_header(const crypto::PrivateKey& origin, std::uint64_t sequence) {
    return {{gossip::RecordType::status, origin.public_key().id(), ""}, sequence};
}

// A verifier that only counts: proves a cap refused before any signature work.
class CountingVerifier final : public gossip::RecordVerifier {
public:
    int calls = 0;
    Result<gossip::MemberIdentity> admit_member(gossip::ByteView) override { return gossip::MemberIdentity{}; }
    gossip::Bytes certificate(const gossip::MemberId&) const override { return {}; }
    void forget_member(const gossip::MemberId&) override {}
    Status verify_record(const gossip::RecordHeader&, gossip::ByteView, std::uint64_t) override {
        ++calls;
        return {};
    }
};

class RecordingHandler final : public gossip::TransportHandler {
public:
    int datagrams = 0;
    int requests = 0;
    void on_datagram(const gossip::Address&, gossip::ByteView) override { ++datagrams; }
    gossip::Bytes on_exchange(const gossip::Address&, gossip::ByteView) override {
        ++requests;
        return gossip::Bytes{1};
    }
};

}  // namespace

TEST_CASE("attack 13: a member forging or replaying another agent's status changes nothing", "[adversarial]") {
    // Agents A and B are both enrolled and admitted. B signs a status naming
    // A, under A's header and under its own; B replays A's older record after
    // A's newer one; and after serve restarts (gossip forgot everything) the
    // old record comes back. Gossip refuses the forgeries, drops the replay
    // as stale, and the orchestrator's database keeps A's newest sequence.
    TestTrust trust;
    const crypto::PrivateKey a = test_key(61);
    const crypto::PrivateKey b = test_key(62);
    gossip::RolloutVerifier verifier(trust.trust, [] { return kNow; });
    REQUIRE(verifier.admit_member(bytes_of(certificate_for(a, "host-a").sign(trust.enrollment))));
    REQUIRE(verifier.admit_member(bytes_of(certificate_for(b, "host-b").sign(trust.enrollment))));

    const crypto::Envelope forged = status_of(a, 9).sign(b);
    auto as_a = verifier.verify_record(status_header(a, 9), bytes_of(forged), 0);
    REQUIRE_FALSE(as_a);
    CHECK_THAT(as_a.error().message(), Contains("0 of 1 required signatures"));
    auto as_b = verifier.verify_record(status_header(b, 9), bytes_of(forged), 0);
    REQUIRE_FALSE(as_b);
    CHECK_THAT(as_b.error().message(), Contains("names agent"));
    // An agent nobody admitted cannot report at all.
    const crypto::PrivateKey stranger = test_key(63);
    CHECK_FALSE(verifier.verify_record(status_header(stranger, 1), bytes_of(status_of(stranger, 1).sign(stranger)), 0));

    const crypto::Envelope old_status = status_of(a, 3).sign(a);
    const crypto::Envelope new_status = status_of(a, 5).sign(a);
    gossip::RecordStore store(verifier, 100, 1 << 20);
    auto record = [&](const crypto::Envelope& envelope, std::uint64_t sequence) {
        return std::make_shared<const gossip::Record>(gossip::Record{status_header(a, sequence), bytes_of(envelope)});
    };
    REQUIRE(store.offer(record(new_status, 5)).value() == gossip::OfferResult::stored);
    CHECK(store.offer(record(old_status, 3)).value() == gossip::OfferResult::stale);
    auto relabelled = store.offer(record(old_status, 6));
    REQUIRE_FALSE(relabelled);
    CHECK_THAT(relabelled.error().message(), Contains("replay refused"));

    testing::TempDir dir;
    auto db = orchestrator::Database::open(dir / "patchwave.db").value();
    REQUIRE(orchestrator::migrate(db));
    const rollout::StatusRecord newest = status_of(a, 5);
    CHECK(orchestrator::store_status(db, newest, "new", kNow).value());
    // serve restarted: its gossip store is empty and takes the old record again...
    gossip::RecordStore fresh(verifier, 100, 1 << 20);
    REQUIRE(fresh.offer(record(old_status, 3)).value() == gossip::OfferResult::stored);
    // ...but the database does not go back.
    CHECK_FALSE(orchestrator::store_status(db, status_of(a, 3), "old", kNow).value());
    CHECK(orchestrator::status_sequences(db).value().at(rollout::to_hex(a.public_key().id())) == 5);
}

TEST_CASE("attack 14: oversized records are refused before any signature is checked", "[adversarial]") {
    TestTrust trust;
    CountingVerifier counting;
    gossip::RecordStore store(counting, 100, 1 << 20);
    auto huge = std::make_shared<const gossip::Record>(gossip::Record{
        {{gossip::RecordType::manifest, {}, "2026-11-B"}, 3}, gossip::Bytes(gossip::Record::kMaxEnvelopeSize + 1, 7)});
    auto refused = store.offer(huge);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().is(Errc::limit));
    // The store's byte cap holds too: 1 MiB of records at most here.
    gossip::RecordStore small(counting, 100, 64 * 1024);
    auto big = std::make_shared<const gossip::Record>(
        gossip::Record{{{gossip::RecordType::manifest, {}, "2026-11-B"}, 3}, gossip::Bytes(100 * 1024, 7)});
    auto over_budget = small.offer(big);
    REQUIRE_FALSE(over_budget);
    CHECK(over_budget.error().is(Errc::limit));
    CHECK(counting.calls == 0);

    // A manifest body past 256 KiB, even signed by the release keys, is not parsed.
    rollout::Manifest fat = manifest();
    fat.bundles[0].name = std::string(rollout::Manifest::kMaxBodySize, 'x');
    crypto::Envelope signed_fat{std::string(rollout::Manifest::kEnvelopeType), fat.to_json(), {}};
    signed_fat.sign(trust.release[0]);
    signed_fat.sign(trust.release[1]);
    auto not_parsed = rollout::verify_manifest(signed_fat, trust.trust, kNow, 0);
    REQUIRE_FALSE(not_parsed);
    CHECK(not_parsed.error().is(Errc::untrusted));
    CHECK_THAT(not_parsed.error().message(), Contains("bytes"));
    // A status past 64 KiB from an admitted agent: refused the same way.
    const crypto::PrivateKey agent_key = test_key(61);
    rollout::StatusRecord fat_status = status_of(agent_key, 4);
    fat_status.boot_id = std::string(rollout::StatusRecord::kMaxBodySize, 'b');
    crypto::Envelope fat_status_envelope{std::string(rollout::StatusRecord::kEnvelopeType), fat_status.to_json(), {}};
    fat_status_envelope.sign(agent_key);
    CHECK_FALSE(rollout::verify_status(fat_status_envelope, certificate_for(agent_key, "host-a"), 0));

    // Decoders refuse input over their caps before reading it.
    auto datagram = gossip::decode_datagram(gossip::Bytes(gossip::kMaxDatagramSize + 1, 0));
    REQUIRE_FALSE(datagram);
    CHECK(datagram.error().is(Errc::limit));
    auto stream = gossip::decode_stream_message(gossip::Bytes(1025, 0), 1024);
    REQUIRE_FALSE(stream);
    CHECK(stream.error().is(Errc::limit));
    CHECK_FALSE(crypto::Envelope::decode(std::vector<std::uint8_t>(crypto::Envelope::kDefaultMaxEncodedSize + 1, 0)));
}

TEST_CASE("attack 14: oversized datagrams and stream frames on the wire are dropped unread", "[adversarial]") {
    // A member's transport on 127.0.0.77 gets a 65,000-byte UDP datagram and
    // a TCP frame claiming 4 GiB: both are dropped and counted, the handler
    // never sees them, and a normal datagram afterwards still arrives.
    boost::asio::io_context io;
    gossip::asio_impl::TransportConfig config;
    config.bind = gossip::Address::ipv4({127, 0, 0, 77}, 0);
    auto transport = gossip::asio_impl::UdpTcpTransport::open(io, config);
    REQUIRE(transport);
    RecordingHandler handler;
    (*transport)->set_handler(&handler);
    const auto udp_to = gossip::asio_impl::udp_endpoint_of((*transport)->local_address());
    const auto tcp_to = gossip::asio_impl::tcp_endpoint_of((*transport)->local_address());

    boost::asio::ip::udp::socket udp(io,
                                     boost::asio::ip::udp::endpoint(boost::asio::ip::make_address("127.0.0.78"), 0));
    udp.send_to(boost::asio::buffer(std::vector<std::uint8_t>(65'000, 0xAB)), udp_to);
    boost::asio::ip::tcp::socket tcp(io);
    tcp.open(boost::asio::ip::tcp::v4());
    tcp.bind(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.78"), 0));
    tcp.connect(tcp_to);
    const std::vector<std::uint8_t> claim{0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4};
    boost::asio::write(tcp, boost::asio::buffer(claim));
    REQUIRE(testing::run_until(
        io,
        [&] {
            const auto& stats = (*transport)->stats();
            return stats.datagrams_oversized >= 1 && stats.inbound_refused >= 1;
        },
        3000ms));
    udp.send_to(boost::asio::buffer(std::vector<std::uint8_t>(100, 0xCD)), udp_to);
    REQUIRE(testing::run_until(
        io, [&] { return handler.datagrams == 1; }, 3000ms));
    CHECK(handler.requests == 0);
    CHECK((*transport)->stats().datagrams_oversized == 1);
}
