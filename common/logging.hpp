// Process-wide logging setup: spdlog to stderr (stdout is for --json output),
// colour only on a terminal, so journald and pipes get plain lines.
#pragma once

#include <string_view>

#include "common/error.hpp"

namespace patchwave {

/// What stderr is connected to; it decides the shape of a log line.
enum class LogTarget {
    terminal,  ///< colours, time of day: `12:00:01.250 info  joined the fleet`
    journal,   ///< journald: `<6>info joined the fleet`, the prefix is the entry's priority, no time (journald adds it)
    plain,     ///< a pipe or a file: `2026-11-23T12:00:01.250 info joined the fleet`
};

/// journal when $JOURNAL_STREAM (`journal_stream`, null when unset) names the
/// device and inode of descriptor `fd`, as systemd documents it (a child whose
/// stderr was redirected elsewhere inherits the variable, so its mere presence
/// proves nothing); else terminal when `fd` is a terminal; else plain.
LogTarget detect_log_target(int fd, const char* journal_stream);

/// The spdlog pattern for `target`. `%*` is the syslog priority of the level
/// (7 debug and trace, 6 info, 4 warn, 3 error, 2 critical); colour ranges
/// (`%^...%$`) appear only in the terminal pattern.
std::string_view log_pattern(LogTarget target);

/// Installs the default logger named `program` at `level` (trace, debug, info,
/// warn, error, critical, off), writing to stderr in the form
/// detect_log_target(STDERR_FILENO, $JOURNAL_STREAM) picks.
/// Errc::invalid_argument for an unknown level.
Status setup_logging(std::string_view program, std::string_view level);

}  // namespace patchwave
