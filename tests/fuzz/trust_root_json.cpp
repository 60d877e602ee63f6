// Fuzz target: the trust root's JSON body (crypto/trust_root), which an agent
// parses when it is pinned and at every rotation.
#include "crypto/trust_root.hpp"
#include "fuzz/fuzz_target.hpp"

using namespace patchwave;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::require_json_round_trip<crypto::TrustRoot>(
        fuzz::as_text(data, size), [](std::string_view body) { return crypto::TrustRoot::parse(body); });
    // parse() validates: every root it returns must pass validate() on its own.
    if (auto root = crypto::TrustRoot::parse(fuzz::as_text(data, size))) {
        fuzz::require(root->validate().has_value(), "a parsed trust root validates");
    }
    return 0;
}
