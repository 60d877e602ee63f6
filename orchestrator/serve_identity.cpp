#include "orchestrator/serve_identity.hpp"

#include "crypto/key_file.hpp"
#include "orchestrator/key_store.hpp"
#include "orchestrator/trust_store.hpp"
#include "rollout/certificate.hpp"

namespace patchwave::orchestrator {

Result<ServeIdentity> load_serve_identity(Home& home, Timestamp now) {
    const auto key_file = home.keys_dir() / "serve.key";
    auto key = crypto::load_private_key(key_file);
    if (!key && key.error().is(Errc::not_found)) {
        key = crypto::PrivateKey::generate();
        if (auto saved = crypto::save_private_key(key_file, *key); !saved) return std::unexpected(saved.error());
    }
    if (!key) return std::unexpected(key.error());

    auto latest = latest_root(home.db());
    if (!latest) return std::unexpected(latest.error());
    auto signer = signing_keys(home.keys_dir(), latest->root, crypto::Role::enrollment, 1);
    if (!signer) return std::unexpected(signer.error().with_context("signing patchwave serve's certificate"));
    rollout::AgentCertificate certificate;
    certificate.agent_key = key->public_key();
    certificate.host = "patchwave-serve";
    certificate.labels = {{"role", "orchestrator"}};
    certificate.issued = now;
    certificate.expires = now + std::chrono::days(365);
    ServeIdentity identity{key->public_key(), certificate.sign(signer->front()), {}, latest->root};
    auto bytes = identity.certificate.encode();
    if (!bytes) return std::unexpected(bytes.error());
    identity.certificate_bytes = std::move(*bytes);

    // Agents pinned at an older root learn newer ones from gossip only if
    // this member can publish them: start as far back as the certificate allows.
    auto history = root_history(home.db());
    if (!history) return std::unexpected(history.error());
    for (const auto& envelope : *history) {
        auto root = crypto::TrustRoot::parse(envelope.body);
        if (!root) continue;
        if (rollout::verify_certificate(identity.certificate, *root, now)) {
            identity.start_root = std::move(*root);
            break;
        }
    }
    return identity;
}

}  // namespace patchwave::orchestrator
