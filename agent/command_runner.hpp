// Runs a bundle's step command (precheck, install, verify, rollback) under /bin/sh in
// its own process group, with a timeout, output appended to a log file and a short tail kept.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "agent/confinement.hpp"
#include "common/error.hpp"
#include "rollout/bundle_meta.hpp"

namespace patchwave::agent {

/// After a timeout the group gets SIGTERM, then SIGKILL once this grace has passed.
inline constexpr std::chrono::milliseconds kKillGrace{5'000};
/// How long output is still read after the leader exited (a background grandchild may hold the pipe).
inline constexpr std::chrono::milliseconds kDrainWindow{200};
/// Bounds of CommandOutcome::tail.
inline constexpr std::size_t kTailMaxLines = 20;
inline constexpr std::size_t kTailMaxBytes = 4 * 1024;

struct CommandRequest {
    std::string step;  ///< "precheck", "install", "verify", "rollback" (for logs and errors)
    rollout::BundleCommand command;
    std::filesystem::path working_directory;  ///< the bundle directory
    /// Added to (overriding) a minimal environment: PATH, HOME (inherited, else /root), LANG=C.
    /// Typically PATCHWAVE_ROOT, PATCHWAVE_BUNDLE_ID, PATCHWAVE_STEP.
    std::map<std::string, std::string> environment;
    /// Appended to: a header line (time, step, command), all output (stdout and stderr
    /// interleaved), a footer (exit code, signal or timeout, and duration).
    std::filesystem::path log_file;
    /// Replaces command.timeout (whole seconds) when set; tests use short ones. Zero or
    /// negative (either source) means no timeout.
    std::optional<std::chrono::milliseconds> timeout_override;
    /// SIGTERM-to-SIGKILL grace after a timeout; tests shorten it.
    std::chrono::milliseconds kill_grace = kKillGrace;
    /// When set, the command runs confined (agent/confinement.hpp): only these
    /// paths are writable. The working directory should be one of them.
    std::optional<Confinement> confinement;
};

struct CommandOutcome {
    int exit_code = -1;                   ///< when the command exited by itself
    int signal = 0;                       ///< when killed by a signal (not by our timeout), or SIGKILL when cancelled
    bool timed_out = false;               ///< killed by us at the timeout (exit_code -1, signal 0)
    bool cancelled = false;               ///< killed by us because `cancel` became true (signal SIGKILL)
    std::chrono::milliseconds timeout{};  ///< the timeout that applied (zero: none)
    std::chrono::milliseconds duration{};
    /// The last kTailMaxLines lines and at most kTailMaxBytes of the output, for the status
    /// record's failure reason: valid UTF-8, control characters other than newline and tab
    /// replaced by '?', so it can go into JSON as it is.
    std::string tail;

    /// Exited 0 and not timed out or cancelled.
    bool succeeded() const;
    /// "exit code 3", "killed by signal 9", "timed out after 10m", "cancelled (killed by signal 9)",
    /// followed by ": <last non-empty output line>" when there is output.
    std::string describe() const;
};

/// Blocking: runs on the agent's worker thread. Errc::io when the command cannot be started (fork or exec
/// failure, working directory missing, log file not writable); Errc::invalid_argument for a command or
/// environment containing NUL, or an environment name that is empty or contains '='; Errc::io naming the
/// failing step when the command was to be confined and could not be (it does not run unconfined then).
/// The command runs as `/bin/sh -c <command>` in a new process group, stdin /dev/null, no inherited
/// descriptors other than 0-2, default signal dispositions and an empty signal mask.
/// `cancel` (may be null) is checked while waiting (at least every 100 ms): when it becomes true the
/// process group is killed with SIGKILL and the outcome has cancelled=true, signal=SIGKILL (agent shutdown);
/// when it is already true nothing is started and the outcome is the same.
/// The leader is always reaped. Processes the command left running in its group after it exited on its own
/// are not killed (they may be intended, e.g. a restarted service); output is read until EOF or for
/// kDrainWindow after the leader exited, whichever comes first. After a timeout or cancel the whole group
/// is killed. Write errors on the log file after the start do not stop the command.
Result<CommandOutcome> run_command(const CommandRequest& request, const std::atomic<bool>* cancel = nullptr);

}  // namespace patchwave::agent
