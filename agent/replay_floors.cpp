#include "agent/replay_floors.hpp"

#include <algorithm>

#include "common/hex.hpp"
#include "crypto/threshold.hpp"

namespace patchwave::agent {

std::string floor_key(const crypto::PublicKey& key) {
    const crypto::KeyId id = key.id();
    return to_hex(std::span<const std::uint8_t>(id));
}

std::uint64_t replay_floor(const RolloutKeyFloors& floors, const std::map<std::string, std::uint64_t>& legacy,
                           const std::string& rollout_id, std::span<const crypto::PublicKey> trusted) {
    const auto rollout = floors.find(rollout_id);
    if (rollout == floors.end() || rollout->second.empty()) {
        const auto old = legacy.find(rollout_id);
        return old == legacy.end() ? 0 : old->second;
    }
    std::uint64_t floor = 0;
    for (const crypto::PublicKey& key : trusted) {
        if (auto it = rollout->second.find(floor_key(key)); it != rollout->second.end())
            floor = std::max(floor, it->second);
    }
    return floor;
}

bool raise_floors(RolloutKeyFloors& floors, const std::string& rollout_id, std::span<const crypto::PublicKey> signers,
                  std::uint64_t version) {
    bool changed = false;
    for (const crypto::PublicKey& key : signers) {
        std::uint64_t& floor = floors[rollout_id][floor_key(key)];
        if (version > floor) {
            floor = version;
            changed = true;
        }
    }
    return changed;
}

std::vector<crypto::PublicKey> valid_signers(const crypto::Envelope& envelope, const crypto::TrustRoot& root,
                                             crypto::Role role) {
    return crypto::tally_signatures(envelope, root.role(role).keys).valid_signers;
}

bool still_signed(const crypto::Envelope& envelope, const crypto::TrustRoot& root, crypto::Role role) {
    const crypto::RoleKeys& keys = root.role(role);
    return crypto::verify_threshold(envelope, envelope.type, keys.keys, keys.threshold, crypto::to_string(role))
        .has_value();
}

}  // namespace patchwave::agent
