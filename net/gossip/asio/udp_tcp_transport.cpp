// Binding, datagrams and accepting for UdpTcpTransport; the stream exchange
// itself is in stream_connection.cpp.
#include "net/gossip/asio/udp_tcp_transport.hpp"

#include <boost/asio/post.hpp>

#include "net/gossip/asio/asio_address.hpp"
#include "net/gossip/asio/transport_core.hpp"
#include "net/gossip/message.hpp"

namespace patchwave::net::gossip::asio_impl {

namespace ip = boost::asio::ip;
using boost::system::error_code;

namespace {

// Ephemeral-port binds retried this often before giving up: each try takes
// a UDP port the kernel chose, and the TCP port of that number may be taken.
constexpr int kEphemeralBindTries = 32;
constexpr int kListenBacklog = 128;
// An accept error such as EMFILE would fail again at once: wait before retrying.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);

Status validate(const TransportConfig& config) {
    auto bad = [](std::string_view why) {
        return fail(Errc::invalid_argument, "gossip transport: " + std::string(why));
    };
    const std::size_t overhead = config.keyring ? FleetKeyring::kOverhead : 0;
    if (config.max_wire_datagram > kMaxDatagramSize || config.max_wire_datagram < 512 + overhead) {
        return bad("max_wire_datagram must leave 512 bytes after the fleet-key overhead, and be at most 65507");
    }
    if (config.max_stream_message == 0 || config.max_stream_message > kMaxStreamMessageSize) {
        return bad("max_stream_message must be 1 to " + std::to_string(kMaxStreamMessageSize));
    }
    if (config.max_inbound == 0 || config.max_outbound == 0)
        return bad("max_inbound and max_outbound must be positive");
    if (config.max_inbound_buffered < kReadChunk) return bad("max_inbound_buffered must be at least 64 KiB");
    if (config.inbound_timeout <= Micros(0)) return bad("inbound_timeout must be positive");
    if (ip_of(config.bind).is_unspecified() && !config.advertise) {
        return bad("a wildcard bind address needs an advertise address");
    }
    if (config.advertise && (config.advertise->port == 0 || ip_of(*config.advertise).is_unspecified())) {
        return bad("the advertise address needs an IP and a port");
    }
    return {};
}

}  // namespace

std::array<std::uint8_t, kFrameHeaderSize> encode_frame_length(std::uint32_t length) {
    return {static_cast<std::uint8_t>(length >> 24), static_cast<std::uint8_t>(length >> 16),
            static_cast<std::uint8_t>(length >> 8), static_cast<std::uint8_t>(length)};
}

std::uint32_t decode_frame_length(const std::array<std::uint8_t, kFrameHeaderSize>& header) {
    return (std::uint32_t{header[0]} << 24) | (std::uint32_t{header[1]} << 16) | (std::uint32_t{header[2]} << 8)
           | std::uint32_t{header[3]};
}

// ---- TransportCore ------------------------------------------------------

TransportCore::TransportCore(boost::asio::io_context& io, TransportConfig config)
    : io_(io), config_(std::move(config)), udp_(io), acceptor_(io), accept_retry_(io) {}

Status TransportCore::bind() {
    const ip::address address = ip_of(config_.bind);
    const bool ephemeral = config_.bind.port == 0;
    const std::string where = to_string(config_.bind);
    for (int attempt = 0; attempt < (ephemeral ? kEphemeralBindTries : 1); ++attempt) {
        error_code ec;
        udp_.close(ec);
        acceptor_.close(ec);
        const ip::udp::endpoint udp_endpoint(address, config_.bind.port);
        udp_.open(udp_endpoint.protocol(), ec);
        if (!ec) udp_.bind(udp_endpoint, ec);
        // Sends never wait: a full socket buffer drops the datagram (best effort).
        if (!ec) udp_.non_blocking(true, ec);
        if (ec) return fail(Errc::io, "gossip UDP bind " + where + ": " + ec.message());
        const std::uint16_t port = udp_.local_endpoint(ec).port();
        if (ec) return fail(Errc::io, "gossip UDP bind " + where + ": " + ec.message());

        const ip::tcp::endpoint tcp_endpoint(address, port);
        acceptor_.open(tcp_endpoint.protocol(), ec);
        // Lets a restarted member listen again while old connections sit in TIME_WAIT.
        if (!ec) acceptor_.set_option(ip::tcp::acceptor::reuse_address(true), ec);
        if (!ec) acceptor_.bind(tcp_endpoint, ec);
        if (ec == boost::asio::error::address_in_use && ephemeral) continue;
        if (!ec) acceptor_.listen(kListenBacklog, ec);
        if (ec) return fail(Errc::io, "gossip TCP listen " + to_string(address_of(tcp_endpoint)) + ": " + ec.message());
        local_ = config_.advertise ? *config_.advertise : address_of(address, port);
        return {};
    }
    return fail(Errc::io, "gossip bind " + where + ": no port free for both UDP and TCP");
}

void TransportCore::start() {
    receive_buffer_.resize(config_.max_wire_datagram + 1);
    receive();
    accept();
}

void TransportCore::close() {
    if (closed_) return;
    closed_ = true;
    handler_ = nullptr;
    error_code ignored;
    udp_.close(ignored);
    acceptor_.close(ignored);
    accept_retry_.cancel();
    for (auto& [id, weak] : connections_) {
        if (auto connection = weak.lock()) connection->abort();
    }
}

Bytes TransportCore::seal(Channel channel, Bytes bytes) const {
    if (!config_.keyring) return bytes;
    return config_.keyring->seal(channel, bytes);
}

std::optional<Bytes> TransportCore::open(Channel channel, Bytes bytes) const {
    if (!config_.keyring) return bytes;
    auto plaintext = config_.keyring->open(channel, bytes);
    if (!plaintext) return std::nullopt;
    return std::move(*plaintext);
}

// ---- datagrams -------------------------------------------------------------

void TransportCore::send_datagram(const Address& to, Bytes payload) {
    if (closed_) return;
    if (payload.size() + overhead() > config_.max_wire_datagram) {
        ++stats_.datagrams_oversized;
        return;
    }
    Bytes wire = seal(Channel::datagram, std::move(payload));
    error_code ec;
    udp_.send_to(boost::asio::buffer(wire), udp_endpoint_of(to), 0, ec);
    if (ec) {
        ++stats_.datagram_send_errors;
        return;
    }
    ++stats_.datagrams_sent;
}

void TransportCore::receive() {
    udp_.async_receive_from(
        boost::asio::buffer(receive_buffer_), receive_from_,
        [self = shared_from_this()](const error_code& ec, std::size_t size) { self->on_receive(ec, size); });
}

void TransportCore::on_receive(const error_code& ec, std::size_t size) {
    if (closed_ || ec == boost::asio::error::operation_aborted || ec == boost::asio::error::bad_descriptor) return;
    // Other errors (an ICMP error reported on the socket) leave it usable.
    if (!ec) {
        // The buffer is one byte over the cap: a datagram that fills it was
        // bigger than the cap (the kernel truncated it) and is dropped whole.
        if (size > config_.max_wire_datagram) {
            ++stats_.datagrams_oversized;
        } else {
            deliver(ByteView(receive_buffer_.data(), size));
        }
    }
    if (!closed_) receive();
}

void TransportCore::deliver(ByteView datagram) {
    const Address from = address_of(receive_from_);
    if (!config_.keyring) {
        if (handler_ == nullptr) return;
        ++stats_.datagrams_received;
        handler_->on_datagram(from, datagram);
        return;
    }
    auto plaintext = config_.keyring->open(Channel::datagram, datagram);
    if (!plaintext) {
        ++stats_.datagrams_unauthenticated;
        return;
    }
    if (handler_ == nullptr) return;
    ++stats_.datagrams_received;
    handler_->on_datagram(from, *plaintext);
}

// ---- streams ---------------------------------------------------------------

void TransportCore::accept() {
    acceptor_.async_accept([self = shared_from_this()](const error_code& ec, ip::tcp::socket socket) {
        self->on_accept(ec, std::move(socket));
    });
}

void TransportCore::on_accept(const error_code& ec, ip::tcp::socket socket) {
    if (closed_ || ec == boost::asio::error::operation_aborted) return;
    if (ec) {
        accept_retry_.expires_after(kAcceptRetryDelay);
        accept_retry_.async_wait([self = shared_from_this()](const error_code& wait_ec) {
            if (!wait_ec && !self->closed_) self->accept();
        });
        return;
    }
    if (inbound_active_ >= config_.max_inbound) {
        // Closed unread: the peer sees a reset and retries elsewhere.
        ++stats_.inbound_busy;
        error_code ignored;
        socket.close(ignored);
    } else {
        ++stats_.inbound_accepted;
        ++inbound_active_;
        auto connection = std::make_shared<StreamConnection>(shared_from_this(), std::move(socket), true);
        track(connection);
        connection->start_server();
    }
    accept();
}

void TransportCore::exchange(const Address& to, Bytes request, Micros timeout, Transport::ReplyHandler on_reply) {
    auto fail_later = [&](Errc errc, std::string message) {
        ++stats_.exchanges_failed;
        boost::asio::post(io_, [on_reply = std::move(on_reply), errc, message = std::move(message)] {
            on_reply(fail(errc, message));
        });
    };
    const std::string where = "exchange with " + to_string(to);
    if (closed_) return fail_later(Errc::io, where + ": transport closed");
    if (to.unset() || to.port == 0) return fail_later(Errc::invalid_argument, where + ": no address");
    if (request.empty() || request.size() > config_.max_stream_message) {
        return fail_later(Errc::limit, where + ": request of " + std::to_string(request.size()) + " bytes (1 to "
                                           + std::to_string(config_.max_stream_message) + ")");
    }
    if (outbound_active_ >= config_.max_outbound) {
        return fail_later(Errc::limit, where + ": " + std::to_string(outbound_active_) + " exchanges in flight");
    }
    ++stats_.exchanges_started;
    ++outbound_active_;
    Bytes prefixed;
    prefixed.reserve(kRequestPrefixSize + request.size());
    prefixed.push_back(static_cast<std::uint8_t>(local_.port >> 8));
    prefixed.push_back(static_cast<std::uint8_t>(local_.port));
    prefixed.insert(prefixed.end(), request.begin(), request.end());
    auto connection = std::make_shared<StreamConnection>(shared_from_this(), ip::tcp::socket(io_), false);
    track(connection);
    connection->start_client(tcp_endpoint_of(to), seal(Channel::request, std::move(prefixed)), timeout,
                             std::move(on_reply));
}

void TransportCore::track(const std::shared_ptr<StreamConnection>& connection) {
    const std::uint64_t id = next_connection_++;
    connection->set_id(id);
    connections_.emplace(id, connection);
}

void TransportCore::connection_done(std::uint64_t id, bool inbound) {
    connections_.erase(id);
    std::size_t& active = inbound ? inbound_active_ : outbound_active_;
    if (active > 0) --active;
}

bool TransportCore::reserve_inbound(std::size_t bytes) {
    if (inbound_buffered_ + bytes > config_.max_inbound_buffered) return false;
    inbound_buffered_ += bytes;
    return true;
}

// ---- UdpTcpTransport -------------------------------------------------------

Result<std::unique_ptr<UdpTcpTransport>> UdpTcpTransport::open(boost::asio::io_context& io, TransportConfig config) {
    if (auto status = validate(config); !status) return std::unexpected(status.error());
    auto core = std::make_shared<TransportCore>(io, std::move(config));
    if (auto status = core->bind(); !status) return std::unexpected(status.error());
    core->start();
    return std::unique_ptr<UdpTcpTransport>(new UdpTcpTransport(std::move(core)));
}

UdpTcpTransport::~UdpTcpTransport() {
    core_->close();
}

Address UdpTcpTransport::local_address() const {
    return core_->local_;
}

std::size_t UdpTcpTransport::max_datagram_size() const {
    return core_->config_.max_wire_datagram - core_->overhead();
}

void UdpTcpTransport::send_datagram(const Address& to, Bytes payload) {
    core_->send_datagram(to, std::move(payload));
}

void UdpTcpTransport::exchange(const Address& to, Bytes request, Micros timeout, ReplyHandler on_reply) {
    core_->exchange(to, std::move(request), timeout, std::move(on_reply));
}

void UdpTcpTransport::set_handler(TransportHandler* handler) {
    if (!core_->closed_) core_->handler_ = handler;
}

const TransportStats& UdpTcpTransport::stats() const {
    return core_->stats_;
}
FleetKeyring* UdpTcpTransport::keyring() const {
    return core_->config_.keyring.get();
}
std::size_t UdpTcpTransport::inbound_active() const {
    return core_->inbound_active_;
}
std::size_t UdpTcpTransport::outbound_active() const {
    return core_->outbound_active_;
}

}  // namespace patchwave::net::gossip::asio_impl
