// Confining a bundle step command to the paths it may change: a private mount
// namespace where everything is read-only but PATCHWAVE_ROOT and the bundle directory.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace patchwave::agent {

/// What a confined command may write: each path stays writable (with what is
/// mounted below it); every other mount is read-only. The command also gets a
/// private, empty /tmp (tmpfs) and a minimal /dev (null, zero, full, random,
/// urandom, tty), and runs without the capabilities that would undo or go
/// around the read-only mounts (see docs/agent.md, "Confining commands").
struct Confinement {
    std::vector<std::filesystem::path> writable;
};

/// Everything the forked child needs, built before the fork: the child may
/// not allocate. Opaque; build it with prepare_confinement.
class PreparedConfinement {
public:
    ~PreparedConfinement();
    PreparedConfinement(const PreparedConfinement&) = delete;
    PreparedConfinement& operator=(const PreparedConfinement&) = delete;

    struct Data;
    const Data& data() const { return *data_; }

private:
    friend Result<std::unique_ptr<PreparedConfinement>> prepare_confinement(const Confinement& confinement);
    explicit PreparedConfinement(std::unique_ptr<Data> data);
    std::unique_ptr<Data> data_;
};

/// Checks the writable paths (absolute, existing directories, resolved through
/// symlinks) and builds what apply_confinement needs. Errc::invalid_argument
/// naming the path.
Result<std::unique_ptr<PreparedConfinement>> prepare_confinement(const Confinement& confinement);

/// In the forked child, before exec: async-signal-safe, allocates nothing.
/// Enters a new mount namespace (and a user namespace when not root), makes
/// every mount read-only but the writable paths, mounts the private /tmp and
/// /dev, sets no_new_privs and drops the capabilities listed in docs/agent.md
/// from the bounding set. Returns 0, or the errno of the first failing step
/// with `*stage` naming it (a static string): the caller must not exec then.
int apply_confinement(const PreparedConfinement& prepared, const char** stage) noexcept;

/// Whether this process can confine commands here (it tries in a throwaway
/// child: namespaces may be disabled or the kernel older than 5.12). Ok, or
/// the reason. For tests and the agent's start-up check.
Status confinement_available();

}  // namespace patchwave::agent
