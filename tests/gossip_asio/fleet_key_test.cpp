// The fleet key: sealed messages open only with the right key and channel, any
// altered byte is refused, keys rotate at runtime, and the transport drops what does not open.
#include "net/gossip/asio/fleet_key.hpp"

#include <algorithm>

#include <catch2/catch.hpp>

#include "loop_support.hpp"
#include "net/gossip/asio/udp_tcp_transport.hpp"
#include "raw_peers.hpp"

using namespace patchwave;
using namespace patchwave::net::gossip;
using namespace patchwave::net::gossip::asio_impl;
using namespace patchwave::net::gossip::testing;
using namespace std::chrono_literals;

namespace {

std::shared_ptr<FleetKeyring> ring(const FleetKey& current, const std::optional<FleetKey>& previous = std::nullopt) {
    auto created = FleetKeyring::create(current, previous);
    if (!created) FAIL("keyring: " << created.error().message());
    return *created;
}

std::unique_ptr<UdpTcpTransport> open_keyed(boost::asio::io_context& io, std::uint8_t last,
                                            std::shared_ptr<FleetKeyring> keyring) {
    TransportConfig config;
    config.bind = loopback(last);
    config.keyring = std::move(keyring);
    auto transport = UdpTcpTransport::open(io, std::move(config));
    if (!transport) FAIL("open transport: " << transport.error().message());
    return std::move(*transport);
}

bool contains(const Bytes& haystack, std::string_view needle) {
    return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) != haystack.end();
}

struct ReplySlot {
    std::optional<Result<Bytes>> result;
    Transport::ReplyHandler handler() {
        return [this](Result<Bytes> reply) { result = std::move(reply); };
    }
};

}  // namespace

TEST_CASE("fleet key text form round-trips, malformed text is refused without echoing it", "[gossip-net]") {
    // "id:hex" parses back to the same key; a bad id or secret is Errc::invalid_argument, secret not in the message.
    const FleetKey key = generate_fleet_key(7);
    auto parsed = parse_fleet_key("  " + to_text(key) + "\n");
    REQUIRE(parsed);
    CHECK(parsed->id == 7);
    CHECK(parsed->secret == key.secret);
    const std::string secret_hex = to_text(key).substr(2);
    for (const std::string& bad : {std::string("7") + secret_hex, "256:" + secret_hex, "x:" + secret_hex,
                                   "7:" + secret_hex.substr(2), "7:" + secret_hex + "00", std::string("")}) {
        auto refused = parse_fleet_key(bad);
        REQUIRE_FALSE(refused);
        CHECK(refused.error().is(Errc::invalid_argument));
        CHECK(refused.error().message().find(secret_hex.substr(0, 16)) == std::string::npos);
    }
}

TEST_CASE("a sealed message opens only with the same key and the same channel", "[gossip-net]") {
    // Wrong key, unknown key id or another channel: Errc::untrusted, no plaintext.
    auto a = ring(generate_fleet_key(1));
    auto b = ring(generate_fleet_key(1));  // same id, different secret
    auto c = ring(generate_fleet_key(2));
    const Bytes plaintext = bytes_of("membership news");
    const Bytes sealed = a->seal(Channel::datagram, plaintext);
    CHECK(sealed.size() == plaintext.size() + FleetKeyring::kOverhead);
    CHECK(sealed[0] == 1);
    CHECK_FALSE(contains(sealed, "membership"));
    auto opened = a->open(Channel::datagram, sealed);
    REQUIRE(opened);
    CHECK(*opened == plaintext);
    CHECK_FALSE(b->open(Channel::datagram, sealed));
    CHECK_FALSE(c->open(Channel::datagram, sealed));
    CHECK_FALSE(a->open(Channel::request, sealed));
    CHECK_FALSE(a->open(Channel::reply, sealed));
    CHECK_FALSE(a->open(Channel::datagram, ByteView(sealed).first(FleetKeyring::kOverhead - 1)));
    auto refused = b->open(Channel::datagram, sealed);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().is(Errc::untrusted));
}

TEST_CASE("any altered byte of a sealed message is refused", "[gossip-net]") {
    // Flipping one bit anywhere (key id, nonce, MAC, ciphertext) makes it fail to open; so does truncation.
    auto keys = ring(generate_fleet_key(3));
    const Bytes sealed = keys->seal(Channel::request, bytes_of("push-pull state"));
    for (std::size_t i = 0; i < sealed.size(); ++i) {
        Bytes tampered = sealed;
        tampered[i] ^= 0x01;
        INFO("byte " << i);
        CHECK_FALSE(keys->open(Channel::request, tampered));
    }
    CHECK_FALSE(keys->open(Channel::request, ByteView(sealed).first(sealed.size() - 1)));
}

TEST_CASE("sealing the same message twice gives different bytes", "[gossip-net]") {
    // A random nonce per message: an observer cannot even tell that two messages are equal.
    auto keys = ring(generate_fleet_key(4));
    const Bytes one = keys->seal(Channel::datagram, bytes_of("same"));
    const Bytes two = keys->seal(Channel::datagram, bytes_of("same"));
    CHECK(one != two);
    CHECK(!std::equal(one.begin() + 1, one.begin() + 25, two.begin() + 1));
}

TEST_CASE("a keyring refuses two keys with one id, and reports its key ids", "[gossip-net]") {
    // Ids tell keys apart on the wire, so current and previous must differ.
    const FleetKey one = generate_fleet_key(1);
    const FleetKey other = generate_fleet_key(1);
    auto refused = FleetKeyring::create(one, other);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().is(Errc::invalid_argument));
    auto keys = ring(one, generate_fleet_key(9));
    CHECK(keys->current_id() == 1);
    CHECK(keys->previous_id() == std::optional<std::uint8_t>(9));
    CHECK_FALSE(keys->set_keys(one, other));
    CHECK(keys->current_id() == 1);  // a refused set_keys keeps what was there
    REQUIRE(keys->set_keys(generate_fleet_key(2)));
    CHECK(keys->current_id() == 2);
    CHECK_FALSE(keys->previous_id());
}

TEST_CASE("with a fleet key, datagrams and exchanges round-trip and the wire shows no plaintext", "[gossip-net]") {
    // Two keyed members talk normally; a raw observer of a datagram sees key id, nonce and ciphertext only.
    boost::asio::io_context io;
    const FleetKey key = generate_fleet_key(5);
    auto a = open_keyed(io, 11, ring(key));
    auto b = open_keyed(io, 12, ring(key));
    CHECK(a->max_datagram_size() == 1400 - FleetKeyring::kOverhead);
    RecordingHandler on_b;
    b->set_handler(&on_b);
    a->send_datagram(b->local_address(), bytes_of("secret gossip"));
    ReplySlot slot;
    a->exchange(b->local_address(), bytes_of("secret request"), 2s, slot.handler());
    REQUIRE(run_until(
        io, [&] { return !on_b.datagrams.empty() && slot.result; }, 3000ms));
    CHECK(text_of(on_b.datagrams[0].second) == "secret gossip");
    CHECK(on_b.datagrams[0].first == a->local_address());
    REQUIRE(*slot.result);
    CHECK(text_of(**slot.result) == "re:secret request");

    RawUdp observer(io, 13);
    a->send_datagram(observer.address, bytes_of("secret gossip"));
    REQUIRE(run_until(
        io, [&] { return !observer.received.empty(); }, 2000ms));
    const Bytes& wire = observer.received[0];
    CHECK(wire.size() == std::string_view("secret gossip").size() + FleetKeyring::kOverhead);
    CHECK(wire[0] == 5);
    CHECK_FALSE(contains(wire, "secret"));
}

TEST_CASE("a member with the wrong key is ignored: datagrams dropped, exchanges closed unanswered", "[gossip-net]") {
    // Nothing it sends reaches the handler; its exchange fails; the drops are counted, never answered.
    boost::asio::io_context io;
    auto good = open_keyed(io, 12, ring(generate_fleet_key(1)));
    auto outsider = open_keyed(io, 13, ring(generate_fleet_key(1)));
    RecordingHandler on_good;
    good->set_handler(&on_good);
    outsider->send_datagram(good->local_address(), bytes_of("let me in"));
    ReplySlot slot;
    outsider->exchange(good->local_address(), bytes_of("your state please"), 2s, slot.handler());
    REQUIRE(run_until(
        io, [&] { return slot.result.has_value(); }, 3000ms));
    run_for(io, 50ms);
    REQUIRE_FALSE(*slot.result);
    CHECK(slot.result->error().is(Errc::io));
    CHECK(on_good.datagrams.empty());
    CHECK(on_good.requests.empty());
    CHECK(good->stats().datagrams_unauthenticated == 1);
    CHECK(good->stats().inbound_unauthenticated == 1);
}

TEST_CASE("plaintext traffic to a keyed member is dropped and counted", "[gossip-net]") {
    // A member without the fleet key (no keyring at all) cannot reach a keyed one.
    boost::asio::io_context io;
    auto keyed = open_keyed(io, 12, ring(generate_fleet_key(1)));
    TransportConfig plain_config;
    plain_config.bind = loopback(13);
    auto plain = UdpTcpTransport::open(io, plain_config);
    REQUIRE(plain);
    RecordingHandler on_keyed;
    keyed->set_handler(&on_keyed);
    (*plain)->send_datagram(keyed->local_address(), Bytes(200, 0x42));
    ReplySlot slot;
    (*plain)->exchange(keyed->local_address(), Bytes(200, 0x42), 2s, slot.handler());
    REQUIRE(run_until(
        io, [&] { return slot.result.has_value(); }, 3000ms));
    run_for(io, 50ms);
    CHECK_FALSE(*slot.result);
    CHECK(on_keyed.datagrams.empty());
    CHECK(on_keyed.requests.empty());
    CHECK(keyed->stats().datagrams_unauthenticated == 1);
    CHECK(keyed->stats().inbound_unauthenticated == 1);
}

TEST_CASE("tampered ciphertext on the wire is dropped", "[gossip-net]") {
    // A captured datagram with one flipped byte, and a sealed request with one flipped byte, are refused.
    boost::asio::io_context io;
    const FleetKey key = generate_fleet_key(6);
    auto sender = open_keyed(io, 11, ring(key));
    auto receiver = open_keyed(io, 12, ring(key));
    RecordingHandler on_receiver;
    receiver->set_handler(&on_receiver);
    RawUdp attacker(io, 13);
    sender->send_datagram(attacker.address, bytes_of("probe"));
    REQUIRE(run_until(
        io, [&] { return !attacker.received.empty(); }, 2000ms));
    Bytes tampered = attacker.received[0];
    tampered.back() ^= 0x80;
    attacker.send(receiver->local_address(), tampered);
    run_for(io, 50ms);
    CHECK(on_receiver.datagrams.empty());
    CHECK(receiver->stats().datagrams_unauthenticated == 1);

    Bytes request = ring(key)->seal(Channel::request, bytes_of("fetch records"));
    request[30] ^= 0x04;
    RawStream client(io);
    client.connect(receiver->local_address());
    REQUIRE(run_until(
        io, [&] { return client.connected; }, 2000ms));
    client.write(frame(request));
    REQUIRE(run_until(
        io, [&] { return client.peer_closed; }, 2000ms));
    CHECK(client.received.empty());
    CHECK(on_receiver.requests.empty());
    CHECK(receiver->stats().inbound_unauthenticated == 1);
}

TEST_CASE("fleet key rotation: the previous key is accepted until dropped", "[gossip-net]") {
    // Old-key traffic is accepted while the old key is "previous"; sending switches at once; dropping it ends it.
    boost::asio::io_context io;
    const FleetKey old_key = generate_fleet_key(1);
    const FleetKey new_key = generate_fleet_key(2);
    auto laggard = open_keyed(io, 11, ring(old_key));  // not rotated yet
    auto rotated = open_keyed(io, 12, ring(old_key));
    RecordingHandler on_laggard;
    RecordingHandler on_rotated;
    laggard->set_handler(&on_laggard);
    rotated->set_handler(&on_rotated);

    // Runtime rotation: new key current, old key still accepted.
    REQUIRE(rotated->keyring()->set_keys(new_key, old_key));
    laggard->send_datagram(rotated->local_address(), bytes_of("old key"));
    REQUIRE(run_until(
        io, [&] { return on_rotated.datagrams.size() == 1; }, 2000ms));
    ReplySlot old_exchange;
    laggard->exchange(rotated->local_address(), bytes_of("old key request"), 2s, old_exchange.handler());
    REQUIRE(run_until(
        io, [&] { return old_exchange.result.has_value(); }, 3000ms));
    // The reply is sealed with the new key, which the laggard cannot open yet.
    CHECK_FALSE(*old_exchange.result);
    CHECK(on_rotated.requests.size() == 1);
    rotated->send_datagram(laggard->local_address(), bytes_of("new key"));
    run_for(io, 50ms);
    CHECK(on_laggard.datagrams.empty());
    CHECK(laggard->stats().datagrams_unauthenticated == 1);

    // The laggard rotates too: everything flows again, both ways.
    REQUIRE(laggard->keyring()->set_keys(new_key, old_key));
    rotated->send_datagram(laggard->local_address(), bytes_of("new key"));
    ReplySlot new_exchange;
    laggard->exchange(rotated->local_address(), bytes_of("new key request"), 2s, new_exchange.handler());
    REQUIRE(run_until(
        io, [&] { return on_laggard.datagrams.size() == 1 && new_exchange.result; }, 3000ms));
    CHECK(*new_exchange.result);

    // The old key is dropped: traffic sealed with it is refused from now on.
    REQUIRE(rotated->keyring()->set_keys(new_key));
    auto straggler = open_keyed(io, 13, ring(old_key));
    straggler->send_datagram(rotated->local_address(), bytes_of("old key again"));
    run_for(io, 50ms);
    CHECK(on_rotated.datagrams.size() == 1);
    CHECK(rotated->stats().datagrams_unauthenticated == 1);
}
