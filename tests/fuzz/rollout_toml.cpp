// Fuzz target: rollout.toml, the plan a manifest is signed from.
#include "fuzz/fuzz_target.hpp"
#include "rollout/manifest.hpp"

using namespace patchwave;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto parsed = rollout::RolloutFile::parse_toml(fuzz::as_text(data, size), "rollout.toml");
    fuzz::require_located_error(parsed, "rollout.toml");
    return 0;
}
