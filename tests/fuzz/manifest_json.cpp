// Fuzz target: the JSON body of the rollout manifest (with the approval envelopes it carries), as a
// parser sees it once the envelope's signatures verified.
#include "fuzz/fuzz_target.hpp"
#include "rollout/manifest.hpp"

using namespace patchwave;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::require_json_round_trip<rollout::Manifest>(
        fuzz::as_text(data, size), [](std::string_view body) { return rollout::Manifest::parse_json(body); });
    return 0;
}
