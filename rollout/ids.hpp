// Identifiers shared by every rollout document: bundle ids (BitTorrent v2
// info-hashes), agent ids (key ids of agent keys) and rollout ids (names).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "crypto/keys.hpp"

namespace patchwave::rollout {

/// The BitTorrent v2 info-hash of a bundle directory: a SHA-256 merkle root
/// over every file, so signing the id authenticates every byte.
using BundleId = std::array<std::uint8_t, 32>;

/// An agent is named by the key id (SHA-256) of its Ed25519 public key.
using AgentId = crypto::KeyId;

/// 64 lower-case hex characters.
std::string to_hex(const BundleId& id);
/// Exactly 64 hex characters (either case).
Result<BundleId> parse_bundle_id(std::string_view text);

/// Rollout ids are the rollout's name: 1-64 characters of [A-Za-z0-9._-],
/// starting with a letter or digit. Manifests for one id carry rising versions.
bool is_valid_rollout_id(std::string_view id);

/// Exactly 64 hex characters naming an agent (its key id).
Result<AgentId> parse_agent_id(std::string_view text);

/// The first 12 hex characters of an id, for messages and tables.
std::string short_hex(const BundleId& id);

/// Certificate label keys and values, and wave selector keys and values:
/// 1-63 characters of [A-Za-z0-9._-].
bool is_valid_label(std::string_view text);

}  // namespace patchwave::rollout
