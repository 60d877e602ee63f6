// Fuzz target: agent.toml, the agent's configuration.
#include "fuzz/fuzz_target.hpp"
#include "rollout/agent_config.hpp"

using namespace patchwave;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto parsed = rollout::AgentConfig::parse_toml(fuzz::as_text(data, size), "agent.toml");
    fuzz::require_located_error(parsed, "agent.toml");
    return 0;
}
