#include "rollout/ids.hpp"

#include <algorithm>
#include <span>

#include "common/hex.hpp"

namespace patchwave::rollout {
namespace {

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
bool is_name_char(char c) { return is_alnum(c) || c == '.' || c == '_' || c == '-'; }

Result<std::array<std::uint8_t, 32>> parse_id(std::string_view text, std::string_view what) {
    auto bytes = from_hex_fixed<32>(text);
    if (!bytes) {
        return fail(Errc::invalid_argument,
                    "\"" + std::string(text) + "\" is not " + std::string(what) + " (64 hex characters)");
    }
    return *bytes;
}

}  // namespace

std::string to_hex(const BundleId& id) { return ::patchwave::to_hex(std::span<const std::uint8_t>(id)); }

std::string short_hex(const BundleId& id) { return to_hex(id).substr(0, 12); }

Result<BundleId> parse_bundle_id(std::string_view text) { return parse_id(text, "a bundle id"); }

Result<AgentId> parse_agent_id(std::string_view text) { return parse_id(text, "an agent id"); }

bool is_valid_rollout_id(std::string_view id) {
    return !id.empty() && id.size() <= 64 && is_alnum(id.front()) && std::all_of(id.begin(), id.end(), is_name_char);
}

bool is_valid_label(std::string_view text) {
    return !text.empty() && text.size() <= 63 && std::all_of(text.begin(), text.end(), is_name_char);
}

}  // namespace patchwave::rollout
