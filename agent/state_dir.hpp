// Where an agent keeps its state: identity key, journal, saved records and
// roots, staged bundles, per-bundle logs and the control socket, all under state_dir.
#pragma once

#include <filesystem>

#include "common/error.hpp"
#include "rollout/ids.hpp"

namespace patchwave::agent {

struct StateDir {
    std::filesystem::path root;

    std::filesystem::path identity_key() const { return root / "identity.key"; }
    std::filesystem::path journal() const { return root / "journal.json"; }
    /// Fleet records FleetMember saves and re-offers (manifests, controls, roots).
    std::filesystem::path records() const { return root / "records"; }
    /// Trust roots adopted after the pinned one, as "root-v<N>.env".
    std::filesystem::path roots() const { return root / "roots"; }
    /// Swarm resume data.
    std::filesystem::path swarm() const { return root / "swarm"; }
    std::filesystem::path bundles() const { return root / "bundles"; }
    std::filesystem::path bundle(const rollout::BundleId& id) const { return bundles() / rollout::to_hex(id); }
    std::filesystem::path logs() const { return root / "logs"; }
    std::filesystem::path bundle_log(const rollout::BundleId& id) const {
        return logs() / (rollout::to_hex(id) + ".log");
    }
    /// What the agent refused lately (RefusalLog), kept across restarts.
    std::filesystem::path refusals() const { return root / "refusals.json"; }
    /// The local control socket `status` and `defer-reboot` talk to.
    std::filesystem::path control_socket() const { return root / "agent.sock"; }
    /// The daemon holds an exclusive lock on it while it runs.
    std::filesystem::path lock() const { return root / "agent.lock"; }

    /// Creates the directory tree (mode 0700: the journal and the identity key
    /// are nobody else's business). Errc::io naming the directory.
    Status prepare() const;
};

}  // namespace patchwave::agent
