// Fuzz target: the gossip stream message decoder (net/gossip/stream_message
// and the byte reader in wire): joins, push-pull state, record fetches over TCP.
#include <algorithm>

#include "fuzz/fuzz_target.hpp"
#include "net/gossip/stream_message.hpp"

using namespace patchwave;
using namespace patchwave::net::gossip;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto message = decode_stream_message(fuzz::as_bytes(data, size));
    if (!message) return 0;
    auto encoded = encode_stream_message(*message);
    fuzz::require(encoded.has_value(), "a decoded stream message encodes (the caps agree)");
    fuzz::require(encoded->size() == size && std::equal(encoded->begin(), encoded->end(), data),
                  "encode(decode(message)) == message");
    return 0;
}
