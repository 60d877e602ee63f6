// Wave assignment: which wave of a rollout a host belongs to, from its
// certificate labels and a stable hash share. Same answer on every node.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "rollout/ids.hpp"
#include "rollout/manifest.hpp"

namespace patchwave::rollout {

/// True when every selector key is present in `labels` with an equal value.
/// An empty selector matches every host.
bool selector_matches(const LabelSelector& selector, const Labels& labels);

/// Domain-separation prefix of the share hash (see share_point).
inline constexpr std::string_view kWaveShareContext = "patchwave.wave-share.v1";

/// The host's stable position in [0, 10000) basis points for one wave:
///   digest = SHA-256( kWaveShareContext || 0x00
///                     || u32be(len(rollout_id)) || rollout_id
///                     || u32be(len(wave_name))  || wave_name
///                     || agent_id (32 raw bytes) )
///   point  = u64be(digest[0..8]) mod 10000
/// It depends on nothing but these three values, so it needs no global
/// knowledge and no other host can move it.
std::uint32_t share_point(std::string_view rollout_id, std::string_view wave_name,
                          const AgentId& agent);

/// True when the wave's percent share contains the host: no percent set, or
/// share_point < percent * 100.
bool in_share(const WaveSpec& wave, std::string_view rollout_id, const AgentId& agent);

/// Index of the first wave whose selector matches `labels` and whose share
/// contains the agent; std::nullopt when none does (the host is not targeted).
std::optional<std::size_t> assign_wave(std::string_view rollout_id, std::span<const WaveSpec> waves,
                                       const AgentId& agent, const Labels& labels);

/// The same for a manifest (its rollout id and waves).
std::optional<std::size_t> assign_wave(const Manifest& manifest, const AgentId& agent,
                                       const Labels& labels);

}  // namespace patchwave::rollout
