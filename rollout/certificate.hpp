// Agent certificates: the enrollment role binds an agent key to a host name and
// labels. Labels decide wave membership, so a host cannot move itself.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "common/timestamp.hpp"
#include "crypto/envelope.hpp"
#include "crypto/trust_root.hpp"
#include "rollout/ids.hpp"
#include "rollout/manifest.hpp"

namespace patchwave::rollout {

/// JSON body of a "patchwave.certificate" envelope, signed by the enrollment role.
struct AgentCertificate {
    static constexpr std::string_view kEnvelopeType = "patchwave.certificate";
    static constexpr std::size_t kMaxBodySize = 16 * 1024;
    static constexpr std::size_t kMaxLabels = 32;

    crypto::PublicKey agent_key;
    std::string host;  ///< 1-253 characters of [A-Za-z0-9.-_]
    Labels labels;     ///< keys and values: 1-63 characters of [A-Za-z0-9._-]
    Timestamp issued{};
    Timestamp expires{};

    AgentId agent_id() const { return agent_key.id(); }

    std::string to_json() const;
    static Result<AgentCertificate> parse_json(std::string_view body);
    crypto::Envelope sign(const crypto::PrivateKey& enrollment) const;

    friend bool operator==(const AgentCertificate&, const AgentCertificate&) = default;
};

/// Type, enrollment-role threshold, parse, not expired at `now`.
Result<AgentCertificate> verify_certificate(const crypto::Envelope& envelope, const crypto::TrustRoot& root,
                                            Timestamp now);

}  // namespace patchwave::rollout
