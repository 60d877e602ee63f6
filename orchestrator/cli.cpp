#include "orchestrator/cli.hpp"

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdlib>
#include <iostream>

#include "common/logging.hpp"

namespace patchwave::orchestrator {

Result<Timestamp> CliContext::now() const {
    if (const char* fake = std::getenv("PATCHWAVE_NOW"); fake != nullptr && *fake != '\0') {
        auto parsed = parse_timestamp(fake);
        if (!parsed) return std::unexpected(parsed.error().with_context("PATCHWAVE_NOW"));
        return parsed;
    }
    return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

int run_patchwave_cli(int argc, char** argv) {
    CliContext context;
    context.out = &std::cout;
    context.err = &std::cerr;
    std::string log_level;

    CLI::App app{"Patchwave orchestrator: signed patch bundles, approvals and phased rollouts", "patchwave"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("patchwave ") + PATCHWAVE_VERSION, "print the version and exit");
    app.option_defaults()->always_capture_default();
    app.add_option("--home", context.home_flag,
                   "home directory (default: $PATCHWAVE_HOME, else /var/lib/patchwave)");
    app.add_option("--log-level", log_level,
                   "trace, debug, info, warn, error, critical or off (default: warn; info for serve)");
    register_init_commands(app, context);
    register_bundle_commands(app, context);
    register_rollout_commands(app, context);
    register_status_commands(app, context);
    register_events_commands(app, context);
    register_serve_command(app, context);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::cerr << "error: " << e.what() << " (see patchwave --help)\n";
        return 2;
    }
    if (log_level.empty()) log_level = context.default_log_level;
    if (auto ok = setup_logging("patchwave", log_level); !ok) {
        std::cerr << "error: --log-level: " << ok.error().message() << "\n";
        return 2;
    }
    if (!context.command) {
        std::cerr << "error: no command given (see patchwave --help)\n";
        return 2;
    }
    try {
        if (auto ok = context.command(); !ok) {
            std::cerr << "error: " << ok.error().message() << "\n";
            return exit_code_for(ok.error());
        }
    } catch (const std::exception& e) {
        // A backstop: libraries return errors as values; reaching here is a bug.
        std::cerr << "error: internal error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

}  // namespace patchwave::orchestrator
