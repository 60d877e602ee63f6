// `patchwave serve` as a real process: the test process is an enrolled host
// (a FleetMember on its own 127.0.x address) that joins serve's gossip, gets
// the manifest, fetches the bundle serve seeds, reports signed status
// records, and sees serve's advance and an operator's pause arrive.
#include <chrono>
#include <fstream>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "child_process.hpp"
#include "cli_fixture.hpp"
#include "common/file_io.hpp"
#include "crypto/key_file.hpp"
#include "net/fleet/fleet_member.hpp"
#include "orchestrator/event_log.hpp"
#include "orchestrator/home.hpp"
#include "orchestrator/serve_notify.hpp"
#include "rollout/control_record.hpp"
#include "rollout/manifest.hpp"
#include "rollout/status_record.hpp"
#include "support/io_loop.hpp"

using namespace patchwave;
using namespace std::chrono_literals;
using patchwave::testing::run_for;
using patchwave::testing::run_until;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Addresses of this test only (other suites use other 127.0.x.y).
constexpr const char* kServeIp = "127.0.8.1";
constexpr const char* kMemberIp = "127.0.8.2";
constexpr std::uint16_t kServeGossipPort = 27946;
constexpr std::uint16_t kServeSwarmPort = 26881;

Timestamp wall_now() {
    return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

class ServeProcess {
public:
    ServeProcess(const testing::PatchwaveCli& cli, fs::path config, fs::path log)
        : cli_(cli), config_(std::move(config)), log_(std::move(log)) {}

    void start() {
        auto child = testing::ChildProcess::spawn(
            {PATCHWAVE_BIN, "--home", cli_.home().string(), "serve", "--config", config_.string()}, {}, log_);
        REQUIRE(child);
        child_ = std::move(*child);
        // Up when the control socket answers.
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (std::chrono::steady_clock::now() < deadline) {
            if (auto answer = orchestrator::serve_request(cli_.home(), R"({"command":"status"})", 1s); answer) return;
            REQUIRE(child_->running());
            std::this_thread::sleep_for(50ms);
        }
        FAIL("patchwave serve did not answer on its control socket within 10 s; log:\n" << log_text());
    }

    json health() const {
        auto answer = orchestrator::serve_request(cli_.home(), R"({"command":"status"})", 2s);
        REQUIRE(answer);
        return json::parse(*answer);
    }

    std::string log_text() const {
        auto text = read_file(log_, 1 << 22);
        return text ? *text : std::string();
    }

    testing::ChildProcess& child() { return *child_; }

private:
    const testing::PatchwaveCli& cli_;
    fs::path config_;
    fs::path log_;
    std::unique_ptr<testing::ChildProcess> child_;
};

json status_of(const testing::PatchwaveCli& cli, const std::string& rollout_id) {
    const json all = json::parse(cli.ok({"status", rollout_id, "--json"}));
    REQUIRE(all.size() == 1);
    return all[0];
}

std::vector<orchestrator::Event> events_of(const testing::PatchwaveCli& cli, const std::string& rollout_id) {
    auto home = orchestrator::Home::open(cli.home(), orchestrator::LockMode::shared);
    REQUIRE(home);
    auto events = orchestrator::list_events(home->db(), 0, 1000, rollout_id);
    REQUIRE(events);
    return *events;
}

std::vector<std::string> kinds_of(const std::vector<orchestrator::Event>& events) {
    std::vector<std::string> kinds;
    for (const auto& event : events) {
        kinds.push_back(event.kind + (event.wave ? "/" + std::to_string(*event.wave + 1) : std::string()));
    }
    return kinds;
}

rollout::StatusRecord status_record(const rollout::AgentId& agent, std::uint64_t sequence,
                                    const std::string& rollout_id, const rollout::BundleId& bundle,
                                    rollout::HostState state) {
    rollout::StatusRecord record;
    record.agent = agent;
    record.sequence = sequence;
    record.boot_id = "boot-1";
    record.time = wall_now();
    rollout::BundleStatus entry;
    entry.bundle = bundle;
    entry.state = state;
    entry.since = wall_now();
    record.rollouts.push_back({rollout_id, 1, {entry}});
    return record;
}

}  // namespace

TEST_CASE("serve publishes, seeds, folds status, advances the gate and relays an operator pause", "[serve]") {
    testing::PatchwaveCli cli;
    cli.init();
    const std::string bundle_hex = cli.create_bundle("serve-fix");
    for (int i = 1; i <= 2; ++i) {
        cli.ok({"bundle", "approve", bundle_hex, "--key",
                (cli.home() / "keys" / ("approver-" + std::to_string(i) + ".key")).string(), "--change", "CHG-7"});
    }
    cli.enroll("web-1", {"ring=test"});
    cli.enroll("db-1", {"ring=prod"});
    const std::string rollout_id = "serve-r1";
    cli.ok({"rollout", "publish", cli.write_rollout(rollout_id, {bundle_hex}).string()});
    const rollout::BundleId bundle = rollout::parse_bundle_id(bundle_hex).value();
    cli.ok({"trust", "export", "--out", cli.file("root.env").string()});

    const fs::path config = cli.file("serve.toml");
    std::ofstream(config) << "[serve]\ngossip_listen = \"" << kServeIp << ":" << kServeGossipPort
                          << "\"\nswarm_listen = \"" << kServeIp << ":" << kServeSwarmPort
                          << "\"\ngate_interval = \"1s\"\nstatus_interval = \"0\"\n"
                          << "[hooks]\ncommand = \"cat >> '" << cli.file("hook.log").string() << "' && echo >> '"
                          << cli.file("hook.log").string() << "'\"\n";
    // Serve starts before any agent exists.
    ServeProcess serve(cli, config, cli.file("serve.log"));
    serve.start();
    INFO("serve log:\n" << serve.log_text());

    // ---- the host joins, gets the manifest ----
    boost::asio::io_context io;
    auto key = crypto::load_private_key(cli.file("web-1.key"));
    REQUIRE(key);
    auto root_bytes = read_file(cli.file("root.env"), 1 << 20);
    REQUIRE(root_bytes);
    auto root = crypto::verify_initial_root(crypto::Envelope::decode(*root_bytes).value(), wall_now());
    REQUIRE(root);
    auto certificate = read_file(cli.file("web-1.cert"), 1 << 16);
    REQUIRE(certificate);

    std::vector<rollout::Manifest> manifests;
    std::vector<rollout::ControlRecord> controls;
    std::vector<rollout::BundleId> ready;
    net::FleetMemberConfig member_config;
    member_config.gossip_listen = {kMemberIp, 27947, rollout::Endpoint::Kind::ipv4};
    member_config.seeds = {{kServeIp, kServeGossipPort, rollout::Endpoint::Kind::ipv4}};
    member_config.swarm.listen_address = kMemberIp;
    member_config.swarm.listen_port = 26882;
    member_config.swarm.state_dir = cli.file("member-swarm");
    member_config.swarm_events.ready = [&](const rollout::BundleId& id, const fs::path&) { ready.push_back(id); };
    auto member = net::FleetMember::start(io, std::move(member_config), *root,
                                          net::gossip::Bytes(certificate->begin(), certificate->end()), wall_now);
    REQUIRE(member);
    (*member)->on_record = [&](const net::gossip::RecordPtr& record) {
        auto envelope = crypto::Envelope::decode(record->envelope, net::gossip::Record::kMaxEnvelopeSize);
        if (!envelope) return;
        if (record->header.key.type == net::gossip::RecordType::manifest) {
            if (auto manifest = rollout::Manifest::parse_json(envelope->body)) manifests.push_back(*manifest);
        } else if (record->header.key.type == net::gossip::RecordType::control) {
            if (auto control = rollout::ControlRecord::parse_json(envelope->body)) controls.push_back(*control);
        }
    };
    (*member)->join([](Status) {});
    REQUIRE(run_until(
        io, [&] { return !manifests.empty(); }, 15s));
    CHECK(manifests[0].rollout_id == rollout_id);
    CHECK(controls.empty());

    // ---- fetches the bundle from serve by peer hints alone ----
    REQUIRE((*member)->fetch(bundle, cli.file("staging"), {}));
    REQUIRE(run_until(
        io, [&] { return !ready.empty(); }, 20s));
    CHECK(ready[0] == bundle);
    CHECK(serve.health()["seeding"] == 1);

    // ---- reports: downloading, then installed; serve folds both ----
    const auto agent = key->public_key().id();
    const auto publish = [&](std::uint64_t sequence, rollout::HostState state) {
        const auto envelope = status_record(agent, sequence, rollout_id, bundle, state).sign(*key).encode();
        REQUIRE(envelope);
        REQUIRE((*member)->publish(*envelope));
    };
    publish(1, rollout::HostState::downloading);
    REQUIRE(run_until(
        io, [&] { return status_of(cli, rollout_id)["waves"][0]["counts"]["downloading"] == 1; }, 10s));
    CHECK(status_of(cli, rollout_id)["waves"][0]["counts"]["silent"] == 0);

    publish(2, rollout::HostState::installed);
    // Wave "test" (100%, no soak) passes: serve signs the advance to wave 2 itself.
    REQUIRE(run_until(
        io, [&] { return !controls.empty() && controls.back().open_wave == 1; }, 10s));
    CHECK(controls.back().action == rollout::ControlAction::advance);
    CHECK(controls.back().operator_name == "patchwave serve (auto)");
    CHECK(controls.back().reason.find("wave \"test\" passed") != std::string::npos);
    json status = status_of(cli, rollout_id);
    CHECK(status["waves"][0]["counts"]["installed"] == 1);
    CHECK(status["open_wave"] == 2);
    CHECK(status["phase"] == "running");
    const json audit = json::parse(cli.ok({"audit", "--rollout", rollout_id, "--json"}));
    CHECK(audit[0]["installed"] == 1);
    CHECK(audit[0]["targeted"] == 2);

    // ---- an operator pause while serve runs reaches the host within seconds ----
    const auto paused_at = std::chrono::steady_clock::now();
    cli.ok({"rollout", "pause", rollout_id, "--reason", "change freeze", "--operator", "alice"});
    REQUIRE(run_until(
        io, [&] { return controls.back().action == rollout::ControlAction::pause; }, 5s));
    const auto latency = std::chrono::steady_clock::now() - paused_at;
    CHECK(latency < 3s);
    CHECK(controls.back().operator_name == "alice");
    CHECK(controls.back().open_wave == 1);  // a pause keeps the open waves
    CHECK(status_of(cli, rollout_id)["phase"] == "paused");
    run_for(io, 1500ms);  // a gate run while paused: nothing is signed
    CHECK(controls.back().sequence == 2);

    // ---- resumed, a failure crosses wave "test"'s 0% threshold: serve pauses ----
    cli.ok({"rollout", "resume", rollout_id, "--operator", "bob"});
    REQUIRE(run_until(
        io, [&] { return controls.back().action == rollout::ControlAction::resume; }, 5s));
    auto failed = status_record(agent, 3, rollout_id, bundle, rollout::HostState::failed);
    failed.rollouts[0].bundles[0].failed_step = "verify";
    failed.rollouts[0].bundles[0].failure_reason = "exit 1: service did not come back";
    const auto failed_envelope = failed.sign(*key).encode();
    REQUIRE(failed_envelope);
    REQUIRE((*member)->publish(*failed_envelope));
    REQUIRE(run_until(
        io, [&] { return controls.back().action == rollout::ControlAction::pause && controls.back().sequence == 4; },
        10s));
    CHECK(controls.back().operator_name == "patchwave serve (auto)");
    CHECK(controls.back().reason.find("wave \"test\": 1 of 1 hosts failed") != std::string::npos);
    status = status_of(cli, rollout_id);
    CHECK(status["phase"] == "paused");
    CHECK(status["by"] == "patchwave serve (auto)");

    // ---- every event once, in order, and each one to the hook ----
    const std::vector<std::string> expected{"published",     "wave-opened/1", "wave-passed/1", "advanced/2",
                                            "wave-opened/2", "paused",        "resumed",       "auto-paused"};
    const auto events = events_of(cli, rollout_id);
    CHECK(kinds_of(events) == expected);
    REQUIRE(events.size() == expected.size());
    CHECK(events[3].actor == "patchwave serve (auto)");
    CHECK(events[5].actor == "alice");
    CHECK(events[5].reason == "change freeze");
    CHECK(events[6].actor == "bob");
    CHECK(events[7].actor == "patchwave serve (auto)");
    const auto hook_lines = [&] {
        std::vector<json> lines;
        std::ifstream in(cli.file("hook.log"));
        for (std::string line; std::getline(in, line);) {
            if (!line.empty()) lines.push_back(json::parse(line, nullptr, false));
        }
        return lines;
    };
    REQUIRE(run_until(
        io, [&] { return hook_lines().size() >= expected.size(); }, 5s));
    const auto delivered = hook_lines();
    REQUIRE(delivered.size() == expected.size());
    CHECK(delivered.front()["kind"] == "published");
    CHECK(delivered.back()["kind"] == "auto-paused");
    CHECK(delivered.back()["rollout_id"] == rollout_id);

    // ---- a trust-root rotation reaches the host, pinned at v1, through serve ----
    cli.ok({"key", "generate", "--out", cli.file("operator-2.key").string()});
    cli.ok({"trust", "rotate", "--role", "operator", "--add", cli.file("operator-2.key").string()});
    REQUIRE(run_until(io, [&] { return (*member)->root().version == 2; }, 5s));

    const json health = serve.health();
    CHECK(health["members_alive"] == 1);
    CHECK(health["rollouts_active"] == 1);
    CHECK(health["agents_reporting"] == 1);

    // ---- stops within 2 s; a restart announces nothing twice ----
    const auto stopping = std::chrono::steady_clock::now();
    CHECK(serve.child().terminate(5s) == 0);
    CHECK(std::chrono::steady_clock::now() - stopping < 2s);
    CHECK_FALSE(fs::exists(orchestrator::serve_socket_path(cli.home())));
    serve.start();
    run_for(io, 2500ms);
    CHECK(kinds_of(events_of(cli, rollout_id)) == expected);
    CHECK(hook_lines().size() == expected.size());
    // The folded status survived the restart.
    CHECK(status_of(cli, rollout_id)["waves"][0]["counts"]["failed"] == 1);
    (*member)->stop();
    CHECK(serve.child().terminate(5s) == 0);
}

TEST_CASE("a second serve for the same home is refused", "[serve]") {
    testing::PatchwaveCli cli;
    cli.init();
    const fs::path config = cli.file("serve.toml");
    std::ofstream(config) << "[serve]\ngossip_listen = \"" << kServeIp << ":" << kServeGossipPort
                          << "\"\nswarm_listen = \"" << kServeIp << ":" << kServeSwarmPort << "\"\n";
    ServeProcess serve(cli, config, cli.file("serve.log"));
    serve.start();
    const auto second = cli.run({"serve", "--config", config.string()});
    CHECK(second.exit_code == 1);
    CHECK(second.err.find("another patchwave serve is running") != std::string::npos);
    CHECK(serve.child().terminate(5s) == 0);
}

TEST_CASE("CLI writes without a running serve are stored and said so at info level", "[serve]") {
    testing::PatchwaveCli cli;
    cli.init();
    CHECK_FALSE(orchestrator::notify_serve(cli.home()));
    std::string pubkey = cli.ok({"key", "generate", "--out", cli.file("a.key").string()});
    pubkey.erase(pubkey.find_last_not_of('\n') + 1);
    const auto quiet = cli.run({"enroll", "--pubkey", pubkey, "--host", "a-1", "--out", cli.file("a.cert").string()});
    CHECK(quiet.exit_code == 0);
    CHECK(quiet.err.find("serve") == std::string::npos);
    const auto told = cli.run(
        {"--log-level", "info", "enroll", "--pubkey", pubkey, "--host", "a-1", "--out", cli.file("a.cert").string()});
    CHECK(told.exit_code == 0);
    CHECK(told.err.find("stored; patchwave serve is not running, it publishes on start") != std::string::npos);
}
