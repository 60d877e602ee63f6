// Fuzz target: the JSON body of an agent certificate, as a
// parser sees it once the envelope's signatures verified.
#include "fuzz/fuzz_target.hpp"
#include "rollout/certificate.hpp"

using namespace patchwave;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::require_json_round_trip<rollout::AgentCertificate>(
        fuzz::as_text(data, size), [](std::string_view body) { return rollout::AgentCertificate::parse_json(body); });
    return 0;
}
