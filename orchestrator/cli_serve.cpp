// `patchwave serve [--config FILE]`: runs the orchestrator daemon until SIGTERM
// or SIGINT. Without --config it reads HOME/serve.toml when present.
#include <cstdlib>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include "common/logging.hpp"
#include "orchestrator/cli.hpp"
#include "orchestrator/serve_daemon.hpp"

namespace patchwave::orchestrator {
namespace {

// The wall clock, shifted by $PATCHWAVE_NOW when set (tests reach expiry
// dates without waiting; time still moves).
std::function<Timestamp()> make_clock() {
    const auto real = [] { return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()); };
    const char* fake = std::getenv("PATCHWAVE_NOW");
    if (fake == nullptr || *fake == '\0') return real;
    auto pinned = parse_timestamp(fake);
    if (!pinned) return real;
    const auto offset = *pinned - real();
    return [real, offset] { return real() + offset; };
}

Result<ServeConfig> read_config(const std::optional<std::string>& flag, const std::filesystem::path& home) {
    if (flag) return ServeConfig::load(*flag);
    const auto beside = home / "serve.toml";
    std::error_code ec;
    if (std::filesystem::exists(beside, ec)) return ServeConfig::load(beside);
    ServeConfig config;
    if (auto picked = pick_advertise(config); !picked) return std::unexpected(picked.error());
    return config;
}

}  // namespace

void register_serve_command(CLI::App& app, CliContext& context) {
    auto config_flag = std::make_shared<std::optional<std::string>>();
    auto* command =
        app.add_subcommand("serve", "the orchestrator daemon: gossip, seeding, status collection, wave gating, events");
    command->add_option("--config", *config_flag, "serve.toml (default: HOME/serve.toml if present, else defaults)");
    command->callback([&context, config_flag] {
        context.default_log_level = "info";
        context.command = [&context, config_flag]() -> Status {
            auto config = read_config(*config_flag, context.home_path());
            if (!config) return std::unexpected(config.error());
            boost::asio::io_context io;
            auto daemon = ServeDaemon::start(io, {context.home_path(), std::move(*config), make_clock()});
            if (!daemon) return std::unexpected(daemon.error());
            boost::asio::signal_set signals(io, SIGTERM, SIGINT);
            signals.async_wait([&](boost::system::error_code error, int signal) {
                if (error) return;
                spdlog::info("signal {}: stopping", signal);
                (*daemon)->stop();
                io.stop();
            });
            io.run();
            daemon->reset();
            return {};
        };
    });
}

}  // namespace patchwave::orchestrator
