// What every fuzz target shares: the input seen as text or bytes, and the check
// that stops the run when a parser breaks a promise its header makes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

namespace patchwave::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

inline std::span<const std::uint8_t> as_bytes(const std::uint8_t* data, std::size_t size) {
    return {data, size};
}

/// A crash on purpose: libFuzzer keeps the input, the replay runner fails its test.
/// Parse errors are expected results; only a broken property (a round trip that
/// does not come back equal, an accepted value that does not re-encode) lands here.
inline void require(bool holds, const char* property) {
    if (holds) return;
    std::fprintf(stderr, "fuzz: property broken: %s\n", property);
    std::abort();
}

/// The property every signed JSON document promises: what parses serializes
/// to a body that parses back equal, and serializing that gives the same bytes
/// (the orchestrator signs to_json's output; agents parse what was signed).
template <class Document, class Parse>
void require_json_round_trip(std::string_view body, Parse parse) {
    auto first = parse(body);
    if (!first) return;
    const std::string serialized = first->to_json();
    auto second = parse(serialized);
    require(second.has_value(), "the serialization of a parsed document parses");
    require(*second == *first, "parse(to_json(document)) == document");
    require(second->to_json() == serialized, "to_json is stable across a round trip");
}

/// TOML files promise errors of the form `FILE:LINE: ...` (docs/formats.md):
/// an operator must always be told where the mistake is.
template <class Parsed>
void require_located_error(const Parsed& result, std::string_view file_name) {
    if (result) return;
    const std::string& message = result.error().message();
    require(message.starts_with(file_name) && message.size() > file_name.size() + 1 && message[file_name.size()] == ':'
                && message[file_name.size() + 1] >= '0' && message[file_name.size() + 1] <= '9',
            "a TOML error starts with FILE:LINE:");
}

}  // namespace patchwave::fuzz

/// Defined once per target; libFuzzer or tests/fuzz/replay_main.cpp calls it.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
