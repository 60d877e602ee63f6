// Fuzz target: bundle.toml, the release engineer's description of a bundle.
#include "fuzz/fuzz_target.hpp"
#include "rollout/bundle_meta.hpp"

using namespace patchwave;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto parsed = rollout::BundleMeta::parse_toml(fuzz::as_text(data, size), "bundle.toml");
    fuzz::require_located_error(parsed, "bundle.toml");
    return 0;
}
