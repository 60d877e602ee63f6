// `patchwave serve`'s own fleet identity: its key (home/keys/serve.key) and a
// certificate signed with the home's enrollment key, plus the trust root it
// joins gossip with so that every later root can be published in order.
#pragma once

#include <vector>

#include "common/error.hpp"
#include "common/timestamp.hpp"
#include "crypto/envelope.hpp"
#include "crypto/trust_root.hpp"
#include "orchestrator/home.hpp"

namespace patchwave::orchestrator {

struct ServeIdentity {
    crypto::PublicKey key;         ///< its key id is the daemon's member id
    crypto::Envelope certificate;  ///< host "patchwave-serve", label role=orchestrator
    std::vector<std::uint8_t> certificate_bytes;
    /// The oldest stored root the certificate verifies under: the daemon's
    /// member starts pinned to it and publishes each newer root in turn.
    crypto::TrustRoot start_root;
};

/// Creates keys/serve.key (0600) when missing, signs a fresh certificate for
/// it (valid a year) with the enrollment key of the newest root, and picks
/// the starting root. Needs the home opened exclusively (it may write a key).
Result<ServeIdentity> load_serve_identity(Home& home, Timestamp now);

}  // namespace patchwave::orchestrator
