// Fuzz target: the signed envelope decoder (crypto/envelope), the first code
// every record from the network or a file goes through, before any signature check.
#include "crypto/envelope.hpp"

#include <algorithm>

#include "fuzz/fuzz_target.hpp"

using namespace patchwave;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto envelope = crypto::Envelope::decode(fuzz::as_bytes(data, size));
    if (!envelope) return 0;
    // The format has one encoding per envelope (no trailing bytes, fixed
    // widths): what decodes must encode back to exactly the input.
    auto encoded = envelope->encode();
    fuzz::require(encoded.has_value(), "a decoded envelope encodes");
    fuzz::require(encoded->size() == size && std::equal(encoded->begin(), encoded->end(), data),
                  "encode(decode(bytes)) == bytes");
    (void)envelope->signing_message();
    return 0;
}
