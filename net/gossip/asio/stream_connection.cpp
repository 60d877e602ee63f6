// One TCP exchange of the Asio transport, either side: frames are a 4-byte
// length and a body, read in chunks so a claimed length never allocates by itself.
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "net/gossip/asio/asio_address.hpp"
#include "net/gossip/asio/transport_core.hpp"

namespace patchwave::net::gossip::asio_impl {

namespace ip = boost::asio::ip;
using boost::system::error_code;

StreamConnection::StreamConnection(std::shared_ptr<TransportCore> core, ip::tcp::socket socket, bool inbound)
    : core_(std::move(core)), socket_(std::move(socket)), deadline_(core_->io_), inbound_(inbound) {}

void StreamConnection::arm_deadline(Micros timeout) {
    deadline_.expires_after(std::max(timeout, Micros(0)));
    deadline_.async_wait([self = shared_from_this()](const error_code& ec) {
        if (ec || self->done_) return;
        // Closing makes whatever the exchange waits on complete with an
        // error; that handler sees timed_out_ and reports a timeout.
        self->timed_out_ = true;
        error_code ignored;
        self->socket_.close(ignored);
    });
}

void StreamConnection::abort() {
    error_code ignored;
    socket_.close(ignored);
}

bool StreamConnection::finish() {
    if (done_) return false;
    done_ = true;
    deadline_.cancel();
    error_code ignored;
    socket_.shutdown(ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    core_->release_inbound(reserved_);
    reserved_ = 0;
    body_ = Bytes();
    out_ = Bytes();
    core_->connection_done(id_, inbound_);
    return true;
}

// ---- client ---------------------------------------------------------------

void StreamConnection::start_client(const ip::tcp::endpoint& to, Bytes sealed_request, Micros timeout,
                                    Transport::ReplyHandler on_reply) {
    on_reply_ = std::move(on_reply);
    peer_ = address_of(to);
    out_ = std::move(sealed_request);
    error_code ec;
    socket_.open(to.protocol(), ec);
    // From our own gossip IP, so a peer on a shared host (127.0.0.x in
    // tests, several addresses in production) sees who is asking.
    const ip::address local_ip = ip_of(core_->config_.bind);
    if (!ec && !local_ip.is_unspecified() && local_ip.is_v4() == to.address().is_v4()) {
        socket_.bind(ip::tcp::endpoint(local_ip, 0), ec);
    }
    if (ec) return fail_soon(Errc::io, "exchange with " + to_string(peer_) + ": " + ec.message());
    arm_deadline(timeout);
    socket_.async_connect(to,
                          [self = shared_from_this()](const error_code& connect_ec) { self->on_connect(connect_ec); });
}

void StreamConnection::on_connect(const error_code& ec) {
    if (done_) return;
    if (ec) {
        if (timed_out_) return fail_client(Errc::timeout, "connect to " + to_string(peer_) + " timed out");
        return fail_client(Errc::io, "connect to " + to_string(peer_) + ": " + ec.message());
    }
    write_frame(std::move(out_));
}

void StreamConnection::fail_soon(Errc errc, std::string message) {
    boost::asio::post(core_->io_, [self = shared_from_this(), errc, message = std::move(message)]() mutable {
        self->fail_client(errc, std::move(message));
    });
}

void StreamConnection::fail_client(Errc errc, std::string message) {
    if (!finish()) return;
    ++core_->stats_.exchanges_failed;
    if (errc == Errc::timeout) ++core_->stats_.exchanges_timed_out;
    auto on_reply = std::move(on_reply_);
    on_reply(fail(errc, std::move(message)));
}

// ---- server ---------------------------------------------------------------

void StreamConnection::start_server() {
    error_code ec;
    auto remote = socket_.remote_endpoint(ec);
    if (ec) {
        // Reset between accept and now: nothing to serve.
        finish();
        return;
    }
    peer_ = address_of(remote);
    arm_deadline(core_->config_.inbound_timeout);
    read_header();
}

void StreamConnection::refuse_inbound(std::uint64_t TransportStats::*counter) {
    if (timed_out_) counter = &TransportStats::inbound_timed_out;
    ++(core_->stats_.*counter);
    finish();
}

// ---- frames (both sides) ---------------------------------------------------

void StreamConnection::write_frame(Bytes body) {
    out_ = std::move(body);
    out_header_ = encode_frame_length(static_cast<std::uint32_t>(out_.size()));
    std::array<boost::asio::const_buffer, 2> buffers{boost::asio::buffer(out_header_), boost::asio::buffer(out_)};
    boost::asio::async_write(socket_, buffers,
                             [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_written(ec); });
}

void StreamConnection::on_written(const error_code& ec) {
    if (done_) return;
    if (inbound_) {
        if (ec) return refuse_inbound(&TransportStats::inbound_refused);
        ++core_->stats_.inbound_served;
        finish();
        return;
    }
    if (ec) {
        if (timed_out_) return fail_client(Errc::timeout, "exchange with " + to_string(peer_) + " timed out");
        return fail_client(Errc::io, "sending to " + to_string(peer_) + ": " + ec.message());
    }
    read_header();
}

void StreamConnection::read_header() {
    boost::asio::async_read(
        socket_, boost::asio::buffer(header_),
        [self = shared_from_this()](const error_code& ec, std::size_t size) { self->on_header(ec, size); });
}

void StreamConnection::on_header(const error_code& ec, std::size_t size) {
    if (done_) return;
    if (ec) {
        const bool closed_clean = ec == boost::asio::error::eof && size == 0;
        if (inbound_) {
            // A peer that connects and hangs up sent nothing wrong, just nothing.
            if (closed_clean) {
                finish();
                return;
            }
            return refuse_inbound(&TransportStats::inbound_refused);
        }
        if (timed_out_) return fail_client(Errc::timeout, "exchange with " + to_string(peer_) + " timed out");
        if (closed_clean) return fail_client(Errc::io, to_string(peer_) + " closed the stream without a reply");
        return fail_client(Errc::io, "reading the reply from " + to_string(peer_) + ": " + ec.message());
    }
    const std::size_t length = decode_frame_length(header_);
    // The cap is checked before anything is allocated for the body.
    if (length == 0 || length > core_->max_frame()) {
        if (inbound_) return refuse_inbound(&TransportStats::inbound_refused);
        return fail_client(Errc::limit, to_string(peer_) + " sent a reply frame of " + std::to_string(length)
                                            + " bytes (cap " + std::to_string(core_->max_frame()) + ")");
    }
    expected_ = length;
    received_ = 0;
    read_body();
}

void StreamConnection::read_body() {
    const std::size_t chunk = std::min(expected_ - received_, kReadChunk);
    if (inbound_) {
        if (!core_->reserve_inbound(chunk)) return refuse_inbound(&TransportStats::inbound_refused);
        reserved_ += chunk;
    }
    body_.resize(received_ + chunk);
    boost::asio::async_read(
        socket_, boost::asio::buffer(body_.data() + received_, chunk),
        [self = shared_from_this()](const error_code& ec, std::size_t size) { self->on_body(ec, size); });
}

void StreamConnection::on_body(const error_code& ec, std::size_t size) {
    if (done_) return;
    received_ += size;
    if (ec) {
        // Truncated: the peer closed (or the deadline did) inside the body.
        if (inbound_) return refuse_inbound(&TransportStats::inbound_refused);
        if (timed_out_) return fail_client(Errc::timeout, "exchange with " + to_string(peer_) + " timed out");
        return fail_client(Errc::io, "reply from " + to_string(peer_) + " truncated at " + std::to_string(received_)
                                         + " of " + std::to_string(expected_) + " bytes");
    }
    if (received_ < expected_) return read_body();
    on_frame();
}

void StreamConnection::on_frame() {
    if (!inbound_) {
        auto reply = core_->open(Channel::reply, std::move(body_));
        if (!reply) return fail_client(Errc::untrusted, "the reply from " + to_string(peer_) + " did not authenticate");
        if (!finish()) return;
        auto on_reply = std::move(on_reply_);
        on_reply(std::move(*reply));
        return;
    }
    auto request = core_->open(Channel::request, std::move(body_));
    // The budget is for bytes in flight; the request is now the handler's.
    core_->release_inbound(reserved_);
    reserved_ = 0;
    body_ = Bytes();
    if (!request) return refuse_inbound(&TransportStats::inbound_unauthenticated);
    if (request->size() <= kRequestPrefixSize) return refuse_inbound(&TransportStats::inbound_refused);
    const auto gossip_port = static_cast<std::uint16_t>(((*request)[0] << 8) | (*request)[1]);
    if (gossip_port == 0) return refuse_inbound(&TransportStats::inbound_refused);
    // The IP is the one TCP's handshake proved; only the port is the caller's word.
    Address from = peer_;
    from.port = gossip_port;
    TransportHandler* handler = core_->handler_;
    if (handler == nullptr || core_->closed_) {
        finish();
        return;
    }
    Bytes reply = handler->on_exchange(from, ByteView(*request).subspan(kRequestPrefixSize));
    // An empty reply means "no answer"; one over the cap would be refused
    // by the peer anyway, so it is not sent.
    if (done_ || core_->closed_ || reply.empty() || reply.size() > core_->config_.max_stream_message) {
        finish();
        return;
    }
    write_frame(core_->seal(Channel::reply, std::move(reply)));
}

}  // namespace patchwave::net::gossip::asio_impl
