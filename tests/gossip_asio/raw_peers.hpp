// Raw sockets for the transport tests: a TCP client or server and a UDP socket that
// speak bytes, not the protocol, so tests can send truncated, oversized or tampered traffic.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "net/gossip/asio/asio_address.hpp"
#include "net/gossip/transport.hpp"

namespace patchwave::net::gossip::testing {

namespace ip = boost::asio::ip;

/// A stream frame as the transport writes it: 4-byte big-endian length, then the body.
inline Bytes frame(std::uint32_t length, const Bytes& body) {
    Bytes out{static_cast<std::uint8_t>(length >> 24), static_cast<std::uint8_t>(length >> 16),
              static_cast<std::uint8_t>(length >> 8), static_cast<std::uint8_t>(length)};
    out.insert(out.end(), body.begin(), body.end());
    return out;
}
inline Bytes frame(const Bytes& body) {
    return frame(static_cast<std::uint32_t>(body.size()), body);
}

/// A TCP socket the test drives by hand. Must not outlive a run of its io_context.
struct RawStream {
    explicit RawStream(boost::asio::io_context& io) : socket(io) {}
    ~RawStream() {
        boost::system::error_code ignored;
        socket.close(ignored);
    }

    void connect(const Address& to, std::uint8_t from_last = 9) {
        boost::system::error_code ec;
        socket.open(ip::tcp::v4(), ec);
        socket.bind(ip::tcp::endpoint(ip::make_address_v4("127.0.0." + std::to_string(from_last)), 0), ec);
        socket.async_connect(asio_impl::tcp_endpoint_of(to), [this](const boost::system::error_code& connect_ec) {
            connected = !connect_ec;
            failed = static_cast<bool>(connect_ec);
            if (connected) read_loop();
        });
    }
    /// Starts reading from a socket that is already connected (accepted).
    void adopt() {
        connected = true;
        read_loop();
    }
    void write(Bytes data) {
        auto shared = std::make_shared<Bytes>(std::move(data));
        boost::asio::async_write(socket, boost::asio::buffer(*shared),
                                 [shared](const boost::system::error_code&, std::size_t) {});
    }
    void shutdown_send() {
        boost::system::error_code ignored;
        socket.shutdown(ip::tcp::socket::shutdown_send, ignored);
    }

    ip::tcp::socket socket;
    bool connected = false;
    bool failed = false;
    bool peer_closed = false;  ///< EOF or reset from the other side
    Bytes received;

private:
    void read_loop() {
        socket.async_read_some(
            boost::asio::buffer(buffer_), [this](const boost::system::error_code& ec, std::size_t n) {
                if (ec) {
                    peer_closed = true;
                    return;
                }
                received.insert(received.end(), buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(n));
                read_loop();
            });
    }
    std::array<std::uint8_t, 4096> buffer_{};
};

/// A TCP listener that accepts into RawStreams on request (or never: a
/// connection then completes in the kernel backlog and nobody answers).
struct RawListener {
    RawListener(boost::asio::io_context& io, std::uint8_t last) : acceptor(io) {
        const ip::tcp::endpoint endpoint(ip::make_address_v4("127.0.0." + std::to_string(last)), 0);
        acceptor.open(endpoint.protocol());
        acceptor.bind(endpoint);
        acceptor.listen();
        address = asio_impl::address_of(acceptor.local_endpoint());
    }
    /// Accepts one connection into `into`, then calls `then`.
    void accept(
        RawStream& into, std::function<void()> then = [] {}) {
        acceptor.async_accept(into.socket, [&into, then = std::move(then)](const boost::system::error_code& ec) {
            if (!ec) {
                into.adopt();
                then();
            }
        });
    }

    ip::tcp::acceptor acceptor;
    Address address;
};

/// A UDP socket that sends raw bytes and records what it receives.
struct RawUdp {
    RawUdp(boost::asio::io_context& io, std::uint8_t last) : socket(io) {
        const ip::udp::endpoint endpoint(ip::make_address_v4("127.0.0." + std::to_string(last)), 0);
        socket.open(endpoint.protocol());
        socket.bind(endpoint);
        address = asio_impl::address_of(socket.local_endpoint());
        receive();
    }
    void send(const Address& to, const Bytes& bytes) {
        socket.send_to(boost::asio::buffer(bytes), asio_impl::udp_endpoint_of(to));
    }

    ip::udp::socket socket;
    Address address;
    std::vector<Bytes> received;

private:
    void receive() {
        socket.async_receive_from(
            boost::asio::buffer(buffer_), from_, [this](const boost::system::error_code& ec, std::size_t n) {
                if (ec) return;
                received.emplace_back(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(n));
                receive();
            });
    }
    std::array<std::uint8_t, 70000> buffer_{};
    ip::udp::endpoint from_;
};

}  // namespace patchwave::net::gossip::testing
