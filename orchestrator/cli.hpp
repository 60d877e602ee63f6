// The `patchwave` command line: CLI11 tree, one registration function per
// command group, and the one place where errors become exit codes and messages.
#pragma once

#include <functional>
#include <iosfwd>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "common/timestamp.hpp"
#include "orchestrator/home.hpp"

namespace CLI {
class App;
}

namespace patchwave::orchestrator {

/// What every command sees: global options, the clock, the output streams.
struct CliContext {
    std::optional<std::string> home_flag;
    std::ostream* out = nullptr;  ///< results and --json (stdout)
    std::ostream* err = nullptr;  ///< messages and progress (stderr)
    /// The command the parse selected; run after parsing succeeded.
    std::function<Status()> command;
    /// The log level without --log-level; a command may raise it while
    /// parsing (the daemon logs at info).
    std::string default_log_level = "warn";

    std::filesystem::path home_path() const { return resolve_home(home_flag); }
    /// The wall clock, or $PATCHWAVE_NOW (RFC 3339) when set: tests use it to
    /// reach expiry dates without waiting.
    Result<Timestamp> now() const;
    Result<Home> open_home(LockMode mode) const { return Home::open(home_path(), mode); }
};

void register_init_commands(CLI::App& app, CliContext& context);     ///< init, key, enroll, trust
void register_bundle_commands(CLI::App& app, CliContext& context);   ///< bundle *
void register_rollout_commands(CLI::App& app, CliContext& context);  ///< rollout *
void register_status_commands(CLI::App& app, CliContext& context);   ///< status, audit
void register_events_commands(CLI::App& app, CliContext& context);   ///< events
void register_serve_command(CLI::App& app, CliContext& context);     ///< serve

/// Parses and runs. Exit codes per the CLI contract: 0 done, 1 failed,
/// 2 usage or bad value, 3 refused as untrusted; errors print one line
/// `error: ...` to stderr.
int run_patchwave_cli(int argc, char** argv);

}  // namespace patchwave::orchestrator
