// Replay floors kept per signing key: the highest manifest version (control
// sequence) each key helped the agent accept, so a key the root revokes takes its floors along.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>

#include "crypto/envelope.hpp"
#include "crypto/keys.hpp"
#include "crypto/trust_root.hpp"

namespace patchwave::agent {

/// Per signing key (hex key id): the highest version it signed that was accepted.
using KeyFloors = std::map<std::string, std::uint64_t>;
/// Per rollout id.
using RolloutKeyFloors = std::map<std::string, KeyFloors>;

/// The version a record of `rollout_id` must not go below: the highest floor
/// among `trusted` (the current root's keys for the role). A floor set by a
/// key the root no longer lists does not count: a compromised release key's
/// "version 1000" stops binding once a rotation removes that key, and the
/// versions the remaining keys signed still do. `legacy` is the per-rollout
/// floor of journals written before floors were kept per key; it applies to
/// a rollout that has no per-key floors yet.
std::uint64_t replay_floor(const RolloutKeyFloors& floors, const std::map<std::string, std::uint64_t>& legacy,
                           const std::string& rollout_id, std::span<const crypto::PublicKey> trusted);

/// Raises the floor of each signer of `rollout_id` to `version` (never
/// lowers one). Returns whether anything changed.
bool raise_floors(RolloutKeyFloors& floors, const std::string& rollout_id, std::span<const crypto::PublicKey> signers,
                  std::uint64_t version);

/// The keys of `role` in `root` whose signatures on `envelope` verify (each once).
std::vector<crypto::PublicKey> valid_signers(const crypto::Envelope& envelope, const crypto::TrustRoot& root,
                                             crypto::Role role);

/// Whether `envelope` still carries a threshold of valid signatures by
/// `role`'s keys in `root` (what made it trusted when it was accepted). Used
/// after a root rotation to let go of what a revoked key signed.
bool still_signed(const crypto::Envelope& envelope, const crypto::TrustRoot& root, crypto::Role role);

/// The hex form of a key id, as floors are keyed.
std::string floor_key(const crypto::PublicKey& key);

}  // namespace patchwave::agent
