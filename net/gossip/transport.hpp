// How the gossip core talks to other members: best-effort datagrams (UDP) for
// probes and piggybacked gossip, request/reply stream exchanges (TCP) for bulk state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "common/error.hpp"
#include "net/gossip/address.hpp"
#include "net/gossip/clock.hpp"

namespace patchwave::net::gossip {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

/// The receiving side of a transport: implemented by Node. Calls arrive on
/// the node's event loop, one at a time.
class TransportHandler {
public:
    /// One datagram from `from` (the sender's gossip address as the network
    /// saw it). The bytes are only valid during the call.
    virtual void on_datagram(const Address& from, ByteView bytes) = 0;
    /// One stream request; the returned bytes are sent back as the reply
    /// (an empty reply closes the stream without an answer). `from` is the
    /// peer's connecting address, not necessarily its gossip address.
    virtual Bytes on_exchange(const Address& from, ByteView request) = 0;

protected:
    ~TransportHandler() = default;
};

/// The sending side, and where the handler is plugged in. A real transport
/// may add encryption (the secretbox fleet key) below this interface; the
/// sizes it reports are then what is left for the core's bytes.
class Transport {
public:
    using ReplyHandler = std::function<void(Result<Bytes>)>;

    virtual ~Transport() = default;

    /// Where this member receives datagrams and stream requests (one address
    /// for both: peers fetch from the address they heard a member at).
    virtual Address local_address() const = 0;
    /// The largest datagram payload send_datagram() accepts; the core never
    /// builds a bigger one (records that do not fit use exchange()).
    virtual std::size_t max_datagram_size() const = 0;
    /// Sends one datagram, best effort: it may be lost, delayed or reordered.
    /// Payloads over max_datagram_size() are dropped.
    virtual void send_datagram(const Address& to, Bytes payload) = 0;
    /// Opens a stream to `to`, sends `request`, reads one reply, closes.
    /// `on_reply` runs exactly once on the node's loop: with the reply, or
    /// with an error (Errc::io, Errc::timeout after `timeout`). Never inline.
    virtual void exchange(const Address& to, Bytes request, Micros timeout, ReplyHandler on_reply) = 0;
    /// Where incoming datagrams and requests go; nullptr detaches (they are
    /// then dropped, and pending reply handlers may still run).
    virtual void set_handler(TransportHandler* handler) = 0;
};

}  // namespace patchwave::net::gossip
