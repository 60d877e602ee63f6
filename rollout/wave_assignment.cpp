#include "rollout/wave_assignment.hpp"

#include <array>

#include "crypto/sha256.hpp"

namespace patchwave::rollout {
namespace {

constexpr std::uint32_t kBasisPoints = 10000;

// Length prefixes keep ("ab", "c") and ("a", "bc") from hashing alike.
void update_prefixed(crypto::Sha256& hasher, std::string_view text) {
    const auto size = static_cast<std::uint32_t>(text.size());
    const std::array<std::uint8_t, 4> length{
        static_cast<std::uint8_t>(size >> 24), static_cast<std::uint8_t>(size >> 16),
        static_cast<std::uint8_t>(size >> 8), static_cast<std::uint8_t>(size)};
    hasher.update(length);
    hasher.update(text);
}

}  // namespace

bool selector_matches(const LabelSelector& selector, const Labels& labels) {
    for (const auto& [key, value] : selector) {
        const auto found = labels.find(key);
        if (found == labels.end() || found->second != value)
            return false;
    }
    return true;
}

std::uint32_t share_point(std::string_view rollout_id, std::string_view wave_name,
                          const AgentId& agent) {
    crypto::Sha256 hasher;
    hasher.update(kWaveShareContext);
    const std::array<std::uint8_t, 1> separator{0};
    hasher.update(separator);
    update_prefixed(hasher, rollout_id);
    update_prefixed(hasher, wave_name);
    hasher.update(agent);
    const crypto::Digest digest = hasher.finish();
    std::uint64_t head = 0;
    for (std::size_t i = 0; i < 8; ++i)
        head = (head << 8) | digest[i];
    // 2^64 mod 10000 = 1616: the modulo bias is below 1e-15, far under the
    // +-1 point tolerance that matters here.
    return static_cast<std::uint32_t>(head % kBasisPoints);
}

bool in_share(const WaveSpec& wave, std::string_view rollout_id, const AgentId& agent) {
    if (!wave.percent)
        return true;
    return share_point(rollout_id, wave.name, agent) < *wave.percent * 100;
}

std::optional<std::size_t> assign_wave(std::string_view rollout_id, std::span<const WaveSpec> waves,
                                       const AgentId& agent, const Labels& labels) {
    for (std::size_t i = 0; i < waves.size(); ++i) {
        if (selector_matches(waves[i].select, labels) && in_share(waves[i], rollout_id, agent))
            return i;
    }
    return std::nullopt;
}

std::optional<std::size_t> assign_wave(const Manifest& manifest, const AgentId& agent,
                                       const Labels& labels) {
    return assign_wave(manifest.rollout_id, manifest.waves, agent, labels);
}

}  // namespace patchwave::rollout
