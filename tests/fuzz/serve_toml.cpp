// Fuzz target: serve.toml, the orchestrator daemon's configuration.
#include "fuzz/fuzz_target.hpp"
#include "orchestrator/serve_config.hpp"

using namespace patchwave;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto parsed = orchestrator::ServeConfig::parse_toml(fuzz::as_text(data, size), "serve.toml");
    fuzz::require_located_error(parsed, "serve.toml");
    return 0;
}
