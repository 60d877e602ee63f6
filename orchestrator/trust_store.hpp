// The home's trust-root history: every root version ever signed, kept so an
// agent pinned at any older version can walk forward, and rotation to the next.
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "common/duration.hpp"
#include "common/error.hpp"
#include "common/timestamp.hpp"
#include "crypto/envelope.hpp"
#include "crypto/trust_root.hpp"
#include "orchestrator/home.hpp"

namespace patchwave::orchestrator {

struct StoredRoot {
    crypto::TrustRoot root;
    crypto::Envelope envelope;
};

/// Appends a root to the history (inside the caller's transaction, if any).
Status store_root(Database& db, const crypto::Envelope& envelope, Timestamp now);

/// The newest root. Errc::not_found when the home has none.
Result<StoredRoot> latest_root(Database& db);

/// Every stored root from v1 up, as signed envelopes.
Result<std::vector<crypto::Envelope>> root_history(Database& db);

struct RotateRequest {
    crypto::Role role = crypto::Role::release;
    std::vector<crypto::PublicKey> add;
    std::vector<crypto::PublicKey> remove;
    std::optional<std::uint32_t> threshold;
    std::optional<std::uint32_t> emergency_threshold;  ///< approver role only
    Duration lifetime = std::chrono::days(365);          ///< the new root's expiry from now
    Timestamp now{};
    /// Keys that may sign besides those in keys/ (new keys the caller imports
    /// only once the rotation succeeded).
    std::span<const crypto::PrivateKey> extra_signers;
};

/// Signs root v(n+1) with the change applied: by a threshold of the current
/// root keys and a threshold of the new root keys, taken from keys/ and
/// request.extra_signers. Checks the result verifies against v(n) exactly as
/// an agent would, then stores it. Errc::invalid_argument for a change that
/// leaves a role without keys or with an impossible threshold.
Result<crypto::TrustRoot> rotate_root(Home& home, const RotateRequest& request);

}  // namespace patchwave::orchestrator
