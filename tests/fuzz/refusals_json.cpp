// Fuzz target: the agent's refusal log file (refusals.json, agent/refusal_log),
// read at start and reported in every status record.
#include "agent/refusal_log.hpp"
#include "fuzz/fuzz_target.hpp"

using namespace patchwave;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto first = agent::RefusalLog::from_json(fuzz::as_text(data, size));
    if (!first) return 0;
    fuzz::require(first->entries().size() <= agent::RefusalLog::kMaxEntries, "a loaded refusal log keeps its cap");
    auto second = agent::RefusalLog::from_json(first->to_json());
    fuzz::require(second.has_value(), "a refusal log written from a parsed one parses");
    fuzz::require(second->entries() == first->entries(), "from_json(to_json(log)) == log");
    return 0;
}
