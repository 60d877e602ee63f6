// Process-wide logging setup: spdlog to stderr (stdout is for --json output),
// colour only on a terminal, so journald and pipes get plain lines.
#pragma once

#include <string_view>

#include "common/error.hpp"

namespace patchwave {

/// Installs the default logger named `program` at `level` (trace, debug, info,
/// warn, error, critical, off). Errc::invalid_argument for an unknown level.
Status setup_logging(std::string_view program, std::string_view level);

}  // namespace patchwave
