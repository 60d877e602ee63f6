// Internal to the Asio transport: the state its completion handlers share
// (sockets, handler, counters, limits) and the per-connection stream exchange.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "net/gossip/asio/udp_tcp_transport.hpp"

namespace patchwave::net::gossip::asio_impl {

/// A stream frame is a 4-byte big-endian length, then that many bytes.
inline constexpr std::size_t kFrameHeaderSize = 4;
/// Buffers for a frame grow by this much per read, so a claimed length
/// alone never makes the transport allocate.
inline constexpr std::size_t kReadChunk = 64 * 1024;
/// A request starts with the caller's gossip port (2 bytes, big-endian,
/// inside the seal): the server reports `from` as the connection's IP with
/// that port, the caller's gossip address, as the simulator does. The core
/// fetches records from `from`; a connecting port would refuse it.
inline constexpr std::size_t kRequestPrefixSize = 2;

std::array<std::uint8_t, kFrameHeaderSize> encode_frame_length(std::uint32_t length);
std::uint32_t decode_frame_length(const std::array<std::uint8_t, kFrameHeaderSize>& header);

class StreamConnection;

/// Everything UdpTcpTransport's handlers touch. Owned by shared_ptr: each
/// pending operation holds one, so closing never frees state under a handler.
class TransportCore : public std::enable_shared_from_this<TransportCore> {
public:
    TransportCore(boost::asio::io_context& io, TransportConfig config);

    /// Binds both sockets (retrying ephemeral ports until UDP and TCP share one).
    Status bind();
    void start();
    void close();

    std::size_t overhead() const { return config_.keyring ? FleetKeyring::kOverhead : 0; }
    std::size_t max_frame() const { return config_.max_stream_message + kRequestPrefixSize + overhead(); }
    /// `bytes` sealed with the fleet key, or `bytes` themselves without one.
    Bytes seal(Channel channel, Bytes bytes) const;
    /// The plaintext, or nullopt when a fleet key is set and `bytes` do not
    /// open. Without a key, `bytes` themselves.
    std::optional<Bytes> open(Channel channel, Bytes bytes) const;

    void send_datagram(const Address& to, Bytes payload);
    void exchange(const Address& to, Bytes request, Micros timeout, Transport::ReplyHandler on_reply);

private:
    friend class StreamConnection;
    friend class UdpTcpTransport;

    void receive();
    void on_receive(const boost::system::error_code& ec, std::size_t size);
    void accept();
    void on_accept(const boost::system::error_code& ec, boost::asio::ip::tcp::socket socket);
    void deliver(ByteView datagram);
    void track(const std::shared_ptr<StreamConnection>& connection);
    void connection_done(std::uint64_t id, bool inbound);
    /// Reserves `bytes` of the inbound budget; false when it is spent.
    bool reserve_inbound(std::size_t bytes);
    void release_inbound(std::size_t bytes) { inbound_buffered_ -= std::min(bytes, inbound_buffered_); }

    boost::asio::io_context& io_;
    TransportConfig config_;
    Address local_;
    TransportHandler* handler_ = nullptr;
    TransportStats stats_;
    bool closed_ = false;
    std::size_t inbound_active_ = 0;
    std::size_t outbound_active_ = 0;
    std::size_t inbound_buffered_ = 0;
    boost::asio::ip::udp::socket udp_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer accept_retry_;
    Bytes receive_buffer_;
    boost::asio::ip::udp::endpoint receive_from_;
    std::uint64_t next_connection_ = 1;
    std::unordered_map<std::uint64_t, std::weak_ptr<StreamConnection>> connections_;
};

/// One TCP exchange, either side. The client connects, writes its request
/// frame and reads one reply frame; the server reads one request frame,
/// asks the handler, writes the reply (or nothing) and closes. A deadline
/// closes the socket whatever it is waiting for.
class StreamConnection : public std::enable_shared_from_this<StreamConnection> {
public:
    StreamConnection(std::shared_ptr<TransportCore> core, boost::asio::ip::tcp::socket socket, bool inbound);

    void start_client(const boost::asio::ip::tcp::endpoint& to, Bytes sealed_request, Micros timeout,
                      Transport::ReplyHandler on_reply);
    void start_server();
    /// Closes the socket; the operation in progress then ends with an error.
    void abort();
    void set_id(std::uint64_t id) { id_ = id; }

private:
    void arm_deadline(Micros timeout);
    void on_connect(const boost::system::error_code& ec);
    void write_frame(Bytes body);
    void on_written(const boost::system::error_code& ec);
    void read_header();
    void on_header(const boost::system::error_code& ec, std::size_t size);
    void read_body();
    void on_body(const boost::system::error_code& ec, std::size_t size);
    void on_frame();
    void fail_client(Errc errc, std::string message);
    /// fail_client() from the io_context, for failures found inside exchange().
    void fail_soon(Errc errc, std::string message);
    void refuse_inbound(std::uint64_t TransportStats::*counter);
    /// Ends the exchange once: stops the deadline, closes, releases budget.
    bool finish();

    std::shared_ptr<TransportCore> core_;
    boost::asio::ip::tcp::socket socket_;
    boost::asio::steady_timer deadline_;
    const bool inbound_;
    std::uint64_t id_ = 0;
    bool done_ = false;
    bool timed_out_ = false;
    Address peer_;
    Transport::ReplyHandler on_reply_;
    std::array<std::uint8_t, kFrameHeaderSize> header_{};
    std::array<std::uint8_t, kFrameHeaderSize> out_header_{};
    std::size_t expected_ = 0;  // body length the header announced (already checked against the cap)
    std::size_t received_ = 0;
    std::size_t reserved_ = 0;  // inbound budget held by body_
    Bytes body_;
    Bytes out_;
};

}  // namespace patchwave::net::gossip::asio_impl
