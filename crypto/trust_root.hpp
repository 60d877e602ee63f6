// The trust root: which keys may sign what (root, release, operator, approver,
// enrollment) and how many must agree. Agents pin one and only walk forward.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/timestamp.hpp"
#include "crypto/envelope.hpp"
#include "crypto/keys.hpp"

namespace patchwave::crypto {

enum class Role { root, release, operator_, approver, enrollment };
inline constexpr std::array<Role, 5> kAllRoles{Role::root, Role::release, Role::operator_, Role::approver,
                                               Role::enrollment};

/// "root", "release", "operator", "approver", "enrollment".
std::string_view to_string(Role role);
Result<Role> role_from_string(std::string_view text);

struct RoleKeys {
    std::vector<PublicKey> keys;
    std::uint32_t threshold = 1;
    friend bool operator==(const RoleKeys&, const RoleKeys&) = default;
};

/// The trust root document (JSON body of a "patchwave.root" envelope; schema
/// in docs/formats.md).
struct TrustRoot {
    static constexpr std::string_view kEnvelopeType = "patchwave.root";

    std::uint64_t version = 1;
    Timestamp expires{};
    std::array<RoleKeys, kAllRoles.size()> roles{};
    /// Approvals an emergency rollout needs (the normal need is approver's threshold).
    std::uint32_t approver_emergency_threshold = 1;

    const RoleKeys& role(Role which) const { return roles[static_cast<std::size_t>(which)]; }
    RoleKeys& role(Role which) { return roles[static_cast<std::size_t>(which)]; }
    bool expired_at(Timestamp now) const { return now >= expires; }

    /// Keys present, distinct within a role, thresholds 1..N, version >= 1.
    Status validate() const;
    /// The JSON body; parse(to_json()) gives back an equal root.
    std::string to_json() const;
    /// Parses and validates a body. Unknown and duplicate fields are errors.
    static Result<TrustRoot> parse(std::string_view json);

    /// Signs `root` with the given keys into an envelope (no threshold check).
    static Result<Envelope> sign(const TrustRoot& root, std::span<const PrivateKey* const> signers);

    friend bool operator==(const TrustRoot&, const TrustRoot&) = default;
};

/// Verifies a root an installer pins out of band: it must be signed by a
/// threshold of its own root keys and not be expired at `now`.
Result<TrustRoot> verify_initial_root(const Envelope& envelope, Timestamp now);

/// Verifies the next root against a trusted one: version exactly +1, signed
/// by a threshold of the trusted root keys (checked before the body is parsed)
/// and by a threshold of its own root keys. With `check_expiry` it must also
/// not be expired at `now`. Errc::untrusted for every refusal.
Result<TrustRoot> verify_next_root(const TrustRoot& trusted, const Envelope& next, Timestamp now,
                                   bool check_expiry = true);

/// Walks a chain of rotations (v(n+1), v(n+2), ... in order) one step at a
/// time. As in TUF, only the last root must be unexpired: an agent that was
/// offline for a long time can still walk forward through roots that have
/// since expired. An empty chain returns `trusted` when it is not expired.
Result<TrustRoot> verify_root_chain(const TrustRoot& trusted, std::span<const Envelope> chain, Timestamp now);

}  // namespace patchwave::crypto
