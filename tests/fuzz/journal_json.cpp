// Fuzz target: the agent's journal (agent/journal), read at every start; a
// journal that does not parse stops the agent, one that parses wrongly misleads it.
#include "agent/journal.hpp"
#include "fuzz/fuzz_target.hpp"

using namespace patchwave;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto first = agent::journal_from_json(fuzz::as_text(data, size));
    if (!first) return 0;
    const std::string serialized = agent::to_json(*first);
    auto second = agent::journal_from_json(serialized);
    fuzz::require(second.has_value(), "a journal written from a parsed one parses");
    fuzz::require(*second == *first, "journal_from_json(to_json(state)) == state");
    return 0;
}
