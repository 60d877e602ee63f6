// The hosts the orchestrator knows: agent certificates it signed at enrollment
// (later also hosts seen in gossip), the population waves are planned over.
#pragma once

#include <vector>

#include "common/error.hpp"
#include "common/timestamp.hpp"
#include "crypto/envelope.hpp"
#include "orchestrator/sqlite.hpp"
#include "rollout/certificate.hpp"

namespace patchwave::orchestrator {

struct KnownHost {
    rollout::AgentCertificate certificate;
    crypto::Envelope envelope;
    Timestamp enrolled{};
};

/// Records a certificate; a newer one for the same agent key replaces the old.
Status store_certificate(Database& db, const rollout::AgentCertificate& certificate,
                         const crypto::Envelope& envelope, Timestamp now);

/// Every known host, ordered by host name.
Result<std::vector<KnownHost>> known_hosts(Database& db);

}  // namespace patchwave::orchestrator
