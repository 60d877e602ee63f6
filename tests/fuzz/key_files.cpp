// Fuzz target: the key file formats (docs/formats.md): a private key file's
// text, a public key's text form, and a gossip fleet key. Each parser gets the
// whole input; what parses must print back to what it read.
#include "crypto/key_file.hpp"
#include "crypto/keys.hpp"
#include "fuzz/fuzz_target.hpp"
#include "net/gossip/asio/fleet_key.hpp"

using namespace patchwave;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text = fuzz::as_text(data, size);

    if (auto key = crypto::parse_private_key(text, "fuzz.key")) {
        // The key line as save_private_key writes it (docs/formats.md) loads the same key.
        const std::string line = "patchwave-private-key-v1:ed25519:" + crypto::base64_encode(key->seed()) + "\n";
        auto again = crypto::parse_private_key(line, "fuzz.key");
        fuzz::require(again.has_value() && again->public_key() == key->public_key(),
                      "a private key written back loads the same key");
    }

    if (auto key = crypto::PublicKey::from_text(text)) {
        // Base64 with padding has one spelling per key: the text is canonical.
        fuzz::require(key->to_text() == text, "PublicKey::from_text(t).to_text() == t");
    }

    if (auto fleet_key = net::gossip::asio_impl::parse_fleet_key(text)) {
        auto again = net::gossip::asio_impl::parse_fleet_key(net::gossip::asio_impl::to_text(*fleet_key));
        fuzz::require(again.has_value() && again->id == fleet_key->id && again->secret == fleet_key->secret,
                      "parse_fleet_key(to_text(k)) == k");
    }
    return 0;
}
