#include "agent/agent_cli.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <iostream>
#include <spdlog/spdlog.h>

#include "agent/agent_daemon.hpp"
#include "agent/refusal_log.hpp"
#include "agent/status_view.hpp"
#include "common/file_io.hpp"
#include "common/logging.hpp"
#include "crypto/key_file.hpp"
#include "net/line_socket.hpp"

namespace patchwave::agent {
namespace {

using nlohmann::json;

Result<rollout::AgentConfig> load_config(const std::string& path) {
    auto text = read_file(path, 1024 * 1024);
    if (!text) return std::unexpected(std::move(text.error()).with_context("config"));
    return rollout::AgentConfig::parse_toml(*text, path);
}

// Wall-clock time in whole seconds; PATCHWAVE_NOW pins it for tests (the
// offset from the real clock is kept, so time still moves).
std::function<Timestamp()> make_clock() {
    const auto real = [] { return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()); };
    const char* fake = std::getenv("PATCHWAVE_NOW");
    if (fake == nullptr || *fake == '\0') return real;
    auto pinned = parse_timestamp(fake);
    if (!pinned) return real;
    const auto offset = *pinned - real();
    return [real, offset] { return real() + offset; };
}

Status init_command(const rollout::AgentConfig& config) {
    StateDir state{config.state_dir};
    if (auto prepared = state.prepare(); !prepared) return prepared;
    auto existing = crypto::load_private_key(state.identity_key());
    if (existing) {
        std::cout << existing->public_key().to_text() << "\n";
        std::cerr << "identity key " << state.identity_key().string() << " already exists (kept)\n";
        return {};
    }
    if (!existing.error().is(Errc::not_found)) return std::unexpected(existing.error());
    auto key = crypto::PrivateKey::generate();
    if (auto saved = crypto::save_private_key(state.identity_key(), key); !saved) return saved;
    std::cout << key.public_key().to_text() << "\n";
    std::cerr << "created identity key " << state.identity_key().string()
              << "; enroll it with: patchwave enroll --pubkey " << key.public_key().to_text() << " --host NAME ...\n";
    return {};
}

Status run_command_daemon(const rollout::AgentConfig& config, const std::string& config_path) {
    boost::asio::io_context io;
    AgentDaemon::Options options{config, config_path, make_clock()};
    auto daemon = AgentDaemon::start(io, std::move(options));
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
}

Result<json> ask(const rollout::AgentConfig& config, const json& request) {
    StateDir state{config.state_dir};
    auto answer = net::line_socket_request(state.control_socket(), request.dump(), std::chrono::seconds(10));
    if (!answer && answer.error().is(Errc::not_found))
        return fail(Errc::not_found, "no agent is running (control socket " + answer.error().message() + ")");
    if (!answer) return std::unexpected(answer.error().with_context("the agent's control socket"));
    json parsed = json::parse(*answer, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) return fail(Errc::io, "the agent sent an answer that is not JSON");
    if (!parsed.value("ok", false)) return fail(Errc::state, parsed.value("error", std::string("refused")));
    return parsed;
}

Status status_command(const rollout::AgentConfig& config, bool as_json) {
    json view;
    auto answer = ask(config, json{{"command", "status"}});
    if (answer) {
        view = (*answer)["status"];
    } else if (answer.error().is(Errc::not_found)) {
        // The daemon is down: the journal still says what was done.
        StateDir state{config.state_dir};
        auto journal = Journal::open(state.journal());
        if (!journal) return std::unexpected(journal.error());
        StatusViewInput input;
        input.journal = &journal->state();
        input.running = false;
        if (auto key = crypto::load_private_key(state.identity_key()); key)
            input.agent = rollout::to_hex(key->public_key().id());
        // What it refused before it stopped (a missing or broken file: nothing to show).
        if (auto text = read_file(state.refusals(), 256 * 1024); text) {
            if (auto refusals = RefusalLog::from_json(*text); refusals) input.refused = refusals->entries();
        }
        view = status_view_json(input);
    } else {
        return std::unexpected(answer.error());
    }
    std::cout << (as_json ? view.dump(2) + "\n" : status_view_text(view));
    return {};
}

Status defer_command(const rollout::AgentConfig& config, const std::string& for_text) {
    json request{{"command", "defer-reboot"}};
    if (!for_text.empty()) {
        auto parsed = parse_duration(for_text);
        if (!parsed) return fail(Errc::invalid_argument, "--for: " + parsed.error().message());
        request["for"] = for_text;
    }
    auto answer = ask(config, request);
    if (!answer) {
        if (answer.error().is(Errc::not_found))
            return fail(Errc::state, "cannot defer: " + answer.error().message());
        return std::unexpected(answer.error().with_context("defer-reboot refused"));
    }
    std::cout << "reboot deferred until " << (*answer)["deferred_until"].get<std::string>() << " (deferral "
              << (*answer)["deferrals_used"].get<std::uint32_t>() << ")\n";
    return {};
}

}  // namespace

int run_agent_cli(int argc, char** argv) {
    CLI::App app{"Patchwave agent: applies signed patch bundles on this host in its wave", "patchwave-agent"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("patchwave-agent ") + PATCHWAVE_VERSION, "print the version and exit");
    std::string config_path;
    std::string log_level;
    bool as_json = false;
    std::string defer_for;
    app.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical or off (default: the config's)");
    auto add_config = [&](CLI::App* command) {
        command->add_option("--config", config_path, "agent.toml")->required();
    };
    auto* init = app.add_subcommand("init", "create the identity key in the state dir; print the public key to enroll");
    add_config(init);
    auto* run = app.add_subcommand("run", "the daemon");
    add_config(run);
    auto* status = app.add_subcommand("status", "this host's bundles and their states, reboot state, deferrals left");
    add_config(status);
    status->add_flag("--json", as_json, "JSON on stdout");
    auto* defer = app.add_subcommand("defer-reboot", "postpone a pending reboot, within the manifest's limits");
    add_config(defer);
    defer->add_option("--for", defer_for, "how long (default 1h, never past the deadline)");

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::cerr << "error: " << e.what() << " (see patchwave-agent --help)\n";
        return 2;
    }
    auto config = load_config(config_path);
    if (!config) {
        std::cerr << "error: " << config.error().message() << "\n";
        return exit_code_for(config.error());
    }
    const bool daemon = run->parsed();
    if (auto ok = setup_logging("patchwave-agent", !log_level.empty() ? log_level
                                                  : daemon           ? config->log_level
                                                                     : std::string("warn"));
        !ok) {
        std::cerr << "error: --log-level: " << ok.error().message() << "\n";
        return 2;
    }
    Status result;
    try {
        if (init->parsed()) result = init_command(*config);
        else if (daemon) result = run_command_daemon(*config, config_path);
        else if (status->parsed()) result = status_command(*config, as_json);
        else result = defer_command(*config, defer_for);
    } catch (const std::exception& e) {
        std::cerr << "error: internal error: " << e.what() << "\n";
        return 1;
    }
    if (!result) {
        std::cerr << "error: " << result.error().message() << "\n";
        return exit_code_for(result.error());
    }
    return 0;
}

}  // namespace patchwave::agent
