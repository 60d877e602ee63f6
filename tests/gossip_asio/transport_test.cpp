// UdpTcpTransport on loopback: datagrams and exchanges round-trip; timeouts,
// caps on every frame, bounded connections and the inbound byte budget hold.
#include <optional>

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

std::unique_ptr<UdpTcpTransport> open_at(boost::asio::io_context& io, std::uint8_t last, TransportConfig config = {}) {
    config.bind = loopback(last);
    auto transport = UdpTcpTransport::open(io, std::move(config));
    if (!transport) FAIL("open transport: " << transport.error().message());
    return std::move(*transport);
}

/// Collects the result of one exchange and how often its handler ran.
struct ReplySlot {
    std::optional<Result<Bytes>> result;
    int calls = 0;
    Transport::ReplyHandler handler() {
        return [this](Result<Bytes> reply) {
            ++calls;
            result = std::move(reply);
        };
    }
};

}  // namespace

TEST_CASE("datagrams travel both ways between two loopback transports", "[gossip-net]") {
    // Each side gets the other's bytes, and `from` is the sender's gossip address.
    boost::asio::io_context io;
    auto a = open_at(io, 11);
    auto b = open_at(io, 12);
    RecordingHandler on_a;
    RecordingHandler on_b;
    a->set_handler(&on_a);
    b->set_handler(&on_b);
    CHECK(a->local_address().port != 0);
    CHECK(a->max_datagram_size() == 1400);
    a->send_datagram(b->local_address(), bytes_of("ping from a"));
    b->send_datagram(a->local_address(), bytes_of("ping from b"));
    REQUIRE(run_until(
        io, [&] { return !on_a.datagrams.empty() && !on_b.datagrams.empty(); }, 2000ms));
    CHECK(text_of(on_b.datagrams[0].second) == "ping from a");
    CHECK(on_b.datagrams[0].first == a->local_address());
    CHECK(text_of(on_a.datagrams[0].second) == "ping from b");
    CHECK(on_a.datagrams[0].first == b->local_address());
    CHECK(a->stats().datagrams_sent == 1);
    CHECK(b->stats().datagrams_received == 1);
}

TEST_CASE("an exchange delivers one request and one reply, from the caller's gossip address", "[gossip-net]") {
    // The handler sees the request and the caller's gossip address (its IP, its listening port), as in the
    // simulator; the caller gets the reply once, never inline.
    boost::asio::io_context io;
    auto a = open_at(io, 11);
    auto b = open_at(io, 12);
    RecordingHandler on_b;
    b->set_handler(&on_b);
    ReplySlot slot;
    a->exchange(b->local_address(), bytes_of("state please"), 2s, slot.handler());
    CHECK(slot.calls == 0);
    REQUIRE(run_until(
        io, [&] { return slot.calls > 0; }, 3000ms));
    REQUIRE(*slot.result);
    CHECK(text_of(**slot.result) == "re:state please");
    REQUIRE(on_b.requests.size() == 1);
    CHECK(on_b.requests[0].first == a->local_address());
    run_for(io, 50ms);
    CHECK(slot.calls == 1);
    CHECK(a->outbound_active() == 0);
    CHECK(b->inbound_active() == 0);
    CHECK(b->stats().inbound_served == 1);
}

TEST_CASE("a large exchange of several megabytes arrives whole", "[gossip-net]") {
    // A 3 MB request and its 3 MB echo cross in 64 KiB chunks, byte for byte.
    boost::asio::io_context io;
    auto a = open_at(io, 11);
    auto b = open_at(io, 12);
    RecordingHandler on_b;
    on_b.reply = [](const Address&, ByteView request) { return Bytes(request.begin(), request.end()); };
    b->set_handler(&on_b);
    Bytes big(3 * 1024 * 1024);
    for (std::size_t i = 0; i < big.size(); ++i)
        big[i] = static_cast<std::uint8_t>(i * 31 + 7);
    ReplySlot slot;
    a->exchange(b->local_address(), big, 10s, slot.handler());
    REQUIRE(run_until(
        io, [&] { return slot.calls > 0; }, 10000ms));
    REQUIRE(*slot.result);
    CHECK(**slot.result == big);
}

TEST_CASE("an empty reply closes the stream and the caller gets an io error", "[gossip-net]") {
    // "No answer" from the handler is a closed stream, as in the simulator.
    boost::asio::io_context io;
    auto a = open_at(io, 11);
    auto b = open_at(io, 12);
    RecordingHandler on_b;
    on_b.reply = [](const Address&, ByteView) { return Bytes{}; };
    b->set_handler(&on_b);
    ReplySlot slot;
    a->exchange(b->local_address(), bytes_of("anyone?"), 2s, slot.handler());
    REQUIRE(run_until(
        io, [&] { return slot.calls > 0; }, 3000ms));
    REQUIRE_FALSE(*slot.result);
    CHECK(slot.result->error().is(Errc::io));
    CHECK(on_b.requests.size() == 1);
}

TEST_CASE("an exchange with a peer that never answers times out once", "[gossip-net]") {
    // The listener never accepts; after the 200 ms timeout the handler runs once with Errc::timeout.
    boost::asio::io_context io;
    auto a = open_at(io, 11);
    RawListener silent(io, 13);
    ReplySlot slot;
    const auto start = std::chrono::steady_clock::now();
    a->exchange(silent.address, bytes_of("hello?"), 200ms, slot.handler());
    REQUIRE(run_until(
        io, [&] { return slot.calls > 0; }, 3000ms));
    const auto took = std::chrono::steady_clock::now() - start;
    REQUIRE_FALSE(*slot.result);
    CHECK(slot.result->error().is(Errc::timeout));
    CHECK(took >= 190ms);
    CHECK(took < 1500ms);
    run_for(io, 100ms);
    CHECK(slot.calls == 1);
    CHECK(a->stats().exchanges_timed_out == 1);
    CHECK(a->outbound_active() == 0);
}

TEST_CASE("an exchange to a closed port fails fast with an io error, never inline", "[gossip-net]") {
    // Nothing listens at 127.0.0.14:1; the refusal arrives through the loop well before the timeout.
    boost::asio::io_context io;
    auto a = open_at(io, 11);
    ReplySlot slot;
    a->exchange(loopback(14, 1), bytes_of("x"), 5s, slot.handler());
    a->exchange(Address{}, bytes_of("x"), 5s, slot.handler());
    CHECK(slot.calls == 0);
    REQUIRE(run_until(
        io, [&] { return slot.calls == 2; }, 2000ms));
    REQUIRE_FALSE(*slot.result);
}

TEST_CASE("an inbound exchange that stalls is closed after the inbound timeout", "[gossip-net]") {
    // Half a header, then silence: the server hangs up after 200 ms, never calling the handler.
    boost::asio::io_context io;
    TransportConfig config;
    config.inbound_timeout = 200ms;
    auto b = open_at(io, 12, config);
    RecordingHandler on_b;
    b->set_handler(&on_b);
    RawStream client(io);
    client.connect(b->local_address());
    REQUIRE(run_until(
        io, [&] { return client.connected; }, 2000ms));
    client.write(Bytes{0, 0});
    REQUIRE(run_until(
        io, [&] { return client.peer_closed; }, 2000ms));
    CHECK(b->stats().inbound_timed_out == 1);
    CHECK(on_b.requests.empty());
    CHECK(b->inbound_active() == 0);
}

TEST_CASE("an oversized datagram is dropped and counted, one at the cap is delivered", "[gossip-net]") {
    // With a 600-byte cap a 601-byte datagram never reaches the handler, a 600-byte one does.
    boost::asio::io_context io;
    TransportConfig config;
    config.max_wire_datagram = 600;
    auto b = open_at(io, 12, config);
    RecordingHandler on_b;
    b->set_handler(&on_b);
    RawUdp raw(io, 13);
    raw.send(b->local_address(), Bytes(601, 0xAB));
    raw.send(b->local_address(), Bytes(65000, 0xCD));
    raw.send(b->local_address(), Bytes(600, 0xEF));
    REQUIRE(run_until(
        io, [&] { return !on_b.datagrams.empty(); }, 2000ms));
    run_for(io, 50ms);
    REQUIRE(on_b.datagrams.size() == 1);
    CHECK(on_b.datagrams[0].second == Bytes(600, 0xEF));
    CHECK(b->stats().datagrams_oversized == 2);
    // Nor does it send one over the cap.
    b->send_datagram(raw.address, Bytes(601, 1));
    run_for(io, 50ms);
    CHECK(raw.received.empty());
    CHECK(b->stats().datagrams_oversized == 3);
}

TEST_CASE("a stream frame over the cap or empty is refused before its body is read", "[gossip-net]") {
    // Cap 1 KiB (+2 bytes of request prefix): a header claiming one byte more, 4 GiB or 0 bytes is
    // answered by a hang-up; the handler never runs.
    boost::asio::io_context io;
    TransportConfig config;
    config.max_stream_message = 1024;
    auto b = open_at(io, 12, config);
    RecordingHandler on_b;
    b->set_handler(&on_b);
    for (std::uint32_t claimed : {1024u + 2u + 1u, 0xFFFFFFFFu, 0u}) {
        INFO("claimed length " << claimed);
        RawStream client(io);
        client.connect(b->local_address());
        REQUIRE(run_until(
            io, [&] { return client.connected; }, 2000ms));
        client.write(frame(claimed, Bytes(16, 1)));
        REQUIRE(run_until(
            io, [&] { return client.peer_closed; }, 2000ms));
        CHECK(client.received.empty());
    }
    CHECK(b->stats().inbound_refused == 3);
    CHECK(on_b.requests.empty());
}

TEST_CASE("a request names its caller's gossip port, the IP is the connection's", "[gossip-net]") {
    // A raw caller on 127.0.0.9 claiming port 4242 is seen as 127.0.0.9:4242; port 0 or no request is refused.
    boost::asio::io_context io;
    auto b = open_at(io, 12);
    RecordingHandler on_b;
    b->set_handler(&on_b);
    for (const Bytes& body : {Bytes{0x10, 0x92, 'h', 'i'}, Bytes{0x00, 0x00, 'h', 'i'}, Bytes{0x10, 0x92}}) {
        RawStream client(io);
        client.connect(b->local_address(), 9);
        REQUIRE(run_until(
            io, [&] { return client.connected; }, 2000ms));
        client.write(frame(body));
        REQUIRE(run_until(
            io, [&] { return client.peer_closed; }, 2000ms));
    }
    REQUIRE(on_b.requests.size() == 1);
    CHECK(on_b.requests[0].first == loopback(9, 4242));
    CHECK(text_of(on_b.requests[0].second) == "hi");
    CHECK(b->stats().inbound_served == 1);
    CHECK(b->stats().inbound_refused == 2);
}

TEST_CASE("a truncated stream frame is refused", "[gossip-net]") {
    // 50 of 100 announced bytes, then the client stops sending: no request reaches the handler.
    boost::asio::io_context io;
    auto b = open_at(io, 12);
    RecordingHandler on_b;
    b->set_handler(&on_b);
    RawStream client(io);
    client.connect(b->local_address());
    REQUIRE(run_until(
        io, [&] { return client.connected; }, 2000ms));
    client.write(frame(100, Bytes(50, 7)));
    client.shutdown_send();
    REQUIRE(run_until(
        io, [&] { return client.peer_closed; }, 2000ms));
    CHECK(b->stats().inbound_refused == 1);
    CHECK(on_b.requests.empty());
}

TEST_CASE("a reply frame over the cap or truncated fails the exchange", "[gossip-net]") {
    // A server claiming a reply over the 1 KiB cap gives Errc::limit; one that stops halfway gives Errc::io.
    boost::asio::io_context io;
    TransportConfig config;
    config.max_stream_message = 1024;
    auto a = open_at(io, 11, config);
    RawListener server(io, 13);
    for (bool oversized : {true, false}) {
        INFO((oversized ? "oversized" : "truncated"));
        RawStream accepted(io);
        server.accept(accepted, [&] {
            accepted.write(oversized ? frame(1024 + 3, Bytes(10, 1)) : frame(100, Bytes(10, 1)));
            accepted.shutdown_send();
        });
        ReplySlot slot;
        a->exchange(server.address, bytes_of("hi"), 2s, slot.handler());
        REQUIRE(run_until(
            io, [&] { return slot.calls > 0; }, 3000ms));
        REQUIRE_FALSE(*slot.result);
        CHECK(slot.result->error().is(oversized ? Errc::limit : Errc::io));
    }
}

TEST_CASE("connections past max_inbound are closed at accept, and service resumes", "[gossip-net]") {
    // With max_inbound 2, a third idle connection is dropped at once; once the two close, exchanges work again.
    boost::asio::io_context io;
    TransportConfig config;
    config.max_inbound = 2;
    auto b = open_at(io, 12, config);
    RecordingHandler on_b;
    b->set_handler(&on_b);
    auto first = std::make_unique<RawStream>(io);
    auto second = std::make_unique<RawStream>(io);
    first->connect(b->local_address());
    second->connect(b->local_address());
    REQUIRE(run_until(
        io, [&] { return b->inbound_active() == 2; }, 2000ms));
    RawStream third(io);
    third.connect(b->local_address());
    REQUIRE(run_until(
        io, [&] { return third.peer_closed; }, 2000ms));
    CHECK(b->stats().inbound_busy == 1);
    // Hanging up frees the slots.
    first->shutdown_send();
    second->shutdown_send();
    REQUIRE(run_until(
        io, [&] { return b->inbound_active() == 0; }, 2000ms));
    auto a = open_at(io, 11);
    ReplySlot slot;
    a->exchange(b->local_address(), bytes_of("again"), 2s, slot.handler());
    REQUIRE(run_until(
        io, [&] { return slot.calls > 0; }, 3000ms));
    CHECK(*slot.result);
}

TEST_CASE("exchanges past max_outbound fail at once with a limit error", "[gossip-net]") {
    // Two exchanges wait on a silent peer; a third is refused immediately, not queued.
    boost::asio::io_context io;
    TransportConfig config;
    config.max_outbound = 2;
    auto a = open_at(io, 11, config);
    RawListener silent(io, 13);
    ReplySlot one;
    ReplySlot two;
    ReplySlot three;
    a->exchange(silent.address, bytes_of("1"), 1s, one.handler());
    a->exchange(silent.address, bytes_of("2"), 1s, two.handler());
    a->exchange(silent.address, bytes_of("3"), 1s, three.handler());
    REQUIRE(run_until(
        io, [&] { return three.calls > 0; }, 500ms));
    CHECK(one.calls == 0);
    REQUIRE_FALSE(*three.result);
    CHECK(three.result->error().is(Errc::limit));
    REQUIRE(run_until(
        io, [&] { return one.calls > 0 && two.calls > 0; }, 3000ms));
}

TEST_CASE("inbound streams past the buffer budget are dropped, whatever length they claim", "[gossip-net]") {
    // Budget 64 KiB: a 200 KiB request (under the 1 MiB cap) is dropped once it has sent 64 KiB.
    boost::asio::io_context io;
    TransportConfig config;
    config.max_stream_message = 1024 * 1024;
    config.max_inbound_buffered = 64 * 1024;
    auto b = open_at(io, 12, config);
    RecordingHandler on_b;
    b->set_handler(&on_b);
    RawStream client(io);
    client.connect(b->local_address());
    REQUIRE(run_until(
        io, [&] { return client.connected; }, 2000ms));
    client.write(frame(200 * 1024, Bytes(200 * 1024, 3)));
    REQUIRE(run_until(
        io, [&] { return client.peer_closed; }, 3000ms));
    CHECK(b->stats().inbound_refused == 1);
    CHECK(on_b.requests.empty());
    // The budget is given back: a small exchange afterwards is served.
    auto a = open_at(io, 11);
    ReplySlot slot;
    a->exchange(b->local_address(), bytes_of("small"), 2s, slot.handler());
    REQUIRE(run_until(
        io, [&] { return slot.calls > 0; }, 3000ms));
    CHECK(*slot.result);
}

TEST_CASE("destroying a transport with an exchange in flight still answers its handler once", "[gossip-net]") {
    // The reply handler runs with an error on the next turn of the loop; nothing touches freed state.
    boost::asio::io_context io;
    auto a = open_at(io, 11);
    RawListener silent(io, 13);
    ReplySlot slot;
    a->exchange(silent.address, bytes_of("bye"), 5s, slot.handler());
    run_for(io, 20ms);
    a.reset();
    REQUIRE(run_until(
        io, [&] { return slot.calls > 0; }, 2000ms));
    CHECK_FALSE(*slot.result);
    run_for(io, 50ms);
    CHECK(slot.calls == 1);
}

TEST_CASE("transport config is validated and an address in use is refused", "[gossip-net]") {
    // A wildcard bind needs an advertise address; a second transport on a taken port fails with Errc::io.
    boost::asio::io_context io;
    TransportConfig wildcard;
    wildcard.bind = Address::ipv4({0, 0, 0, 0}, 0);
    auto refused = UdpTcpTransport::open(io, wildcard);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().is(Errc::invalid_argument));
    TransportConfig tiny;
    tiny.bind = loopback(11);
    tiny.max_wire_datagram = 100;
    CHECK_FALSE(UdpTcpTransport::open(io, tiny));

    auto a = open_at(io, 11);
    TransportConfig same;
    same.bind = a->local_address();
    auto clash = UdpTcpTransport::open(io, same);
    REQUIRE_FALSE(clash);
    CHECK(clash.error().is(Errc::io));

    TransportConfig advertised;
    advertised.bind = loopback(15);
    advertised.advertise = loopback(15, 7946);
    auto with_advertise = UdpTcpTransport::open(io, advertised);
    REQUIRE(with_advertise);
    CHECK((*with_advertise)->local_address() == loopback(15, 7946));
}
