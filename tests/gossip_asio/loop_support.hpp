// Helpers for the real-network gossip tests: bounded runs of an io_context,
// loopback addresses, and a TransportHandler that records what arrives.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "net/gossip/address.hpp"
#include "net/gossip/transport.hpp"
#include "support/io_loop.hpp"

namespace patchwave::net::gossip::testing {

using patchwave::testing::run_for;
using patchwave::testing::run_until;

/// 127.0.0.`last`: every test endpoint binds its own loopback address.
inline Address loopback(std::uint8_t last, std::uint16_t port = 0) {
    return Address::ipv4({127, 0, 0, last}, port);
}

inline Bytes bytes_of(std::string_view text) {
    return Bytes(text.begin(), text.end());
}
inline std::string text_of(ByteView bytes) {
    return std::string(bytes.begin(), bytes.end());
}

/// Records datagrams and requests; answers requests with `reply` (empty:
/// close without answering).
class RecordingHandler final : public TransportHandler {
public:
    std::vector<std::pair<Address, Bytes>> datagrams;
    std::vector<std::pair<Address, Bytes>> requests;
    std::function<Bytes(const Address&, ByteView)> reply = [](const Address&, ByteView request) {
        return bytes_of("re:" + text_of(request));
    };

    void on_datagram(const Address& from, ByteView bytes) override {
        datagrams.emplace_back(from, Bytes(bytes.begin(), bytes.end()));
    }
    Bytes on_exchange(const Address& from, ByteView request) override {
        requests.emplace_back(from, Bytes(request.begin(), request.end()));
        return reply(from, request);
    }
};

}  // namespace patchwave::net::gossip::testing
