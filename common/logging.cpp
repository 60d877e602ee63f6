#include "common/logging.hpp"

#include <cstdlib>
#include <memory>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace patchwave {
namespace {

// `%*`: the level as a syslog priority digit. journald reads a leading "<N>"
// on a stream line as the entry's priority (journalctl -p warning, colours).
class SyslogPriorityFlag final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& message, const std::tm&, spdlog::memory_buf_t& out) override {
        char digit = '6';
        switch (message.level) {
            case spdlog::level::trace:
            case spdlog::level::debug: digit = '7'; break;
            case spdlog::level::info: digit = '6'; break;
            case spdlog::level::warn: digit = '4'; break;
            case spdlog::level::err: digit = '3'; break;
            case spdlog::level::critical: digit = '2'; break;
            default: break;
        }
        out.push_back(digit);
    }

    std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<SyslogPriorityFlag>(); }
};

// "DEV:INODE" in decimal, the form systemd writes; anything else is not ours.
bool names_descriptor(std::string_view journal_stream, const struct stat& info) {
    return journal_stream == std::to_string(info.st_dev) + ":" + std::to_string(info.st_ino);
}

}  // namespace

LogTarget detect_log_target(int fd, const char* journal_stream) {
    if (journal_stream != nullptr && *journal_stream != '\0') {
        struct stat info {};
        if (::fstat(fd, &info) == 0 && names_descriptor(journal_stream, info)) return LogTarget::journal;
    }
    return ::isatty(fd) != 0 ? LogTarget::terminal : LogTarget::plain;
}

std::string_view log_pattern(LogTarget target) {
    switch (target) {
        case LogTarget::terminal: return "%H:%M:%S.%e %^%-5l%$ %v";
        case LogTarget::journal: return "<%*>%l %v";
        case LogTarget::plain: return "%Y-%m-%dT%H:%M:%S.%e %l %v";
    }
    return "%Y-%m-%dT%H:%M:%S.%e %l %v";
}

Status setup_logging(std::string_view program, std::string_view level) {
    const auto parsed = spdlog::level::from_str(std::string(level));
    // from_str maps anything unknown to "off"; only accept "off" when asked for.
    if (parsed == spdlog::level::off && level != "off") {
        return fail(Errc::invalid_argument, "unknown log level \"" + std::string(level) +
                                                "\" (use trace, debug, info, warn, error, critical or off)");
    }
    const LogTarget target = detect_log_target(STDERR_FILENO, std::getenv("JOURNAL_STREAM"));
    // Built by hand rather than through spdlog's registry helpers, which throw
    // when a logger of the same name exists (tests set logging up repeatedly).
    // The colour sink only on a terminal: it would write escape codes anywhere.
    std::shared_ptr<spdlog::sinks::sink> sink;
    if (target == LogTarget::terminal) {
        sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    } else {
        sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    }
    auto logger = std::make_shared<spdlog::logger>(std::string(program), std::move(sink));
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<SyslogPriorityFlag>('*').set_pattern(std::string(log_pattern(target)));
    logger->set_formatter(std::move(formatter));
    logger->set_level(parsed);
    spdlog::set_default_logger(std::move(logger));
    return {};
}

}  // namespace patchwave
