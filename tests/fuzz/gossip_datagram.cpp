// Fuzz target: the gossip datagram decoder (net/gossip/message and the byte
// reader in wire): what every UDP packet from the network meets first.
#include <algorithm>

#include "fuzz/fuzz_target.hpp"
#include "net/gossip/message.hpp"

using namespace patchwave;
using namespace patchwave::net::gossip;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto datagram = decode_datagram(fuzz::as_bytes(data, size));
    if (!datagram) return 0;
    // Fixed widths, explicit counts and lengths, no trailing bytes: one
    // encoding per datagram, so what decodes re-encodes to exactly the input.
    std::vector<Bytes> items;
    for (const Item& item : datagram->items) {
        auto encoded = encode_item(item);
        fuzz::require(encoded.has_value(), "a decoded item encodes");
        items.push_back(std::move(*encoded));
    }
    const Bytes encoded = encode_datagram(datagram->primary, items);
    fuzz::require(encoded.size() == size && std::equal(encoded.begin(), encoded.end(), data),
                  "encode(decode(datagram)) == datagram");
    return 0;
}
