#include "common/logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <string>
#include <unistd.h>

namespace patchwave {

Status setup_logging(std::string_view program, std::string_view level) {
    const auto parsed = spdlog::level::from_str(std::string(level));
    // from_str maps anything unknown to "off"; only accept "off" when asked for.
    if (parsed == spdlog::level::off && level != "off") {
        return fail(Errc::invalid_argument, "unknown log level \"" + std::string(level) +
                                                "\" (use trace, debug, info, warn, error, critical or off)");
    }
    // Built by hand rather than through spdlog's registry helpers, which throw
    // when a logger of the same name exists (tests set logging up repeatedly).
    std::shared_ptr<spdlog::logger> logger;
    if (::isatty(STDERR_FILENO) != 0) {
        logger = std::make_shared<spdlog::logger>(
            std::string(program), std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
        logger->set_pattern("%H:%M:%S.%e %^%-5l%$ %v");
    } else {
        // journald adds its own timestamp; keep lines plain and greppable.
        logger = std::make_shared<spdlog::logger>(std::string(program),
                                                  std::make_shared<spdlog::sinks::stderr_sink_mt>());
        logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");
    }
    logger->set_level(parsed);
    spdlog::set_default_logger(std::move(logger));
    return {};
}

}  // namespace patchwave
