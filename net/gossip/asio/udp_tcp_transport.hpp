// The gossip Transport on real sockets: datagrams over one UDP socket, request/reply
// exchanges over TCP (length-prefixed, one reply, close), optionally sealed with a fleet key.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include <boost/asio/io_context.hpp>

#include "common/error.hpp"
#include "net/gossip/address.hpp"
#include "net/gossip/asio/fleet_key.hpp"
#include "net/gossip/stream_message.hpp"
#include "net/gossip/transport.hpp"

namespace patchwave::net::gossip::asio_impl {

struct TransportConfig {
    /// Where to listen: UDP and TCP on this IP and port. Port 0 picks a free
    /// port, the same for both.
    Address bind;
    /// The address other members reach this one at (local_address()).
    /// Required when `bind` is a wildcard (0.0.0.0 or ::); the bound address otherwise.
    std::optional<Address> advertise;
    /// Largest UDP payload sent or accepted, fleet-key overhead included
    /// (1400 stays under a 1500-byte MTU with IP and UDP headers).
    std::size_t max_wire_datagram = 1400;
    /// Largest request or reply the core sends or accepts (before sealing).
    std::size_t max_stream_message = kMaxStreamMessageSize;
    /// Inbound exchanges served at once; connections past this are closed at accept.
    std::size_t max_inbound = 64;
    /// Outbound exchanges in flight at once; exchange() past this fails with Errc::limit.
    std::size_t max_outbound = 64;
    /// Bytes all inbound exchanges may hold at once. Buffers grow as bytes
    /// arrive, never from a claimed length, and a stream past this budget is dropped.
    std::size_t max_inbound_buffered = 64u * 1024 * 1024;
    /// Time an inbound exchange may take from accept to its reply written.
    Micros inbound_timeout = std::chrono::seconds(10);
    /// When set, every datagram and stream message is sealed with the
    /// current key; anything that does not open is dropped and counted.
    std::shared_ptr<FleetKeyring> keyring;
};

/// What the transport saw and dropped. Counted, never answered: a sender
/// without the fleet key gets no reply to learn from.
struct TransportStats {
    std::uint64_t datagrams_sent = 0;
    std::uint64_t datagrams_received = 0;         ///< delivered to the handler
    std::uint64_t datagrams_oversized = 0;        ///< received over max_wire_datagram, or asked to send too big
    std::uint64_t datagrams_unauthenticated = 0;  ///< did not open with the fleet keys
    std::uint64_t datagram_send_errors = 0;       ///< the socket refused (buffer full, unreachable family)
    std::uint64_t exchanges_started = 0;
    std::uint64_t exchanges_failed = 0;  ///< replied with an error (timeouts included)
    std::uint64_t exchanges_timed_out = 0;
    std::uint64_t inbound_accepted = 0;
    std::uint64_t inbound_busy = 0;             ///< closed at accept: max_inbound reached
    std::uint64_t inbound_refused = 0;          ///< bad frame: oversized, truncated, empty, over budget
    std::uint64_t inbound_unauthenticated = 0;  ///< request did not open with the fleet keys
    std::uint64_t inbound_timed_out = 0;
    std::uint64_t inbound_served = 0;  ///< a reply was written
};

class TransportCore;

/// Transport over an io_context. Single-threaded like the node above it:
/// every call, and every handler call it makes, is on the io_context's
/// thread. Destroying it closes the sockets; reply handlers of exchanges
/// still in flight then run with an error when the io_context next runs.
class UdpTcpTransport final : public Transport {
public:
    /// Binds the UDP socket and the TCP listener and starts receiving.
    /// Errc::io when the address cannot be bound, Errc::invalid_argument for a bad config.
    static Result<std::unique_ptr<UdpTcpTransport>> open(boost::asio::io_context& io, TransportConfig config);
    ~UdpTcpTransport() override;
    UdpTcpTransport(const UdpTcpTransport&) = delete;
    UdpTcpTransport& operator=(const UdpTcpTransport&) = delete;

    Address local_address() const override;
    /// max_wire_datagram less the fleet-key overhead when a key is set.
    std::size_t max_datagram_size() const override;
    void send_datagram(const Address& to, Bytes payload) override;
    void exchange(const Address& to, Bytes request, Micros timeout, ReplyHandler on_reply) override;
    void set_handler(TransportHandler* handler) override;

    const TransportStats& stats() const;
    /// The keyring given at open (nullptr without encryption): set_keys() on it rotates.
    FleetKeyring* keyring() const;
    /// Inbound and outbound exchanges open right now.
    std::size_t inbound_active() const;
    std::size_t outbound_active() const;

private:
    explicit UdpTcpTransport(std::shared_ptr<TransportCore> core) : core_(std::move(core)) {}

    // Shared with the completion handlers in flight, so they never outlive what they touch.
    std::shared_ptr<TransportCore> core_;
};

}  // namespace patchwave::net::gossip::asio_impl
