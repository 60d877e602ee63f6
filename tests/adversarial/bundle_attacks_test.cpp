// Attacks through the bundle itself (docs/security.md rows 1 and 15): tampered
// bytes, links and "../" paths that lead out of the bundle directory, and
// install commands that write outside PATCHWAVE_ROOT when commands are confined.
#include <fstream>

#include <catch2/catch.hpp>
#include <libtorrent/file_storage.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/command_runner.hpp"
#include "agent/confinement.hpp"
#include "agent/staged_bundle.hpp"
#include "common/file_io.hpp"
#include "net/bundle_torrent.hpp"
#include "net/swarm_settings.hpp"
#include "net/torrent_layout.hpp"
#include "rollout/agent_config.hpp"
#include "support/temp_dir.hpp"

using namespace patchwave;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

void write(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
}

fs::path make_bundle(const fs::path& dir) {
    write(dir / "bundle.toml", "name = \"demo\"\n");
    write(dir / "install.sh", "#!/bin/sh\necho install\n");
    write(dir / "payload" / "data.bin", std::string(50'000, 'p'));
    return dir;
}

agent::CommandRequest confined_request(const fs::path& bundle, const fs::path& root, const std::string& command) {
    agent::CommandRequest request;
    request.step = "install";
    request.command.command = command;
    request.command.timeout = std::chrono::seconds(20);
    request.working_directory = bundle;
    request.environment = {{"PATCHWAVE_ROOT", root.string()}};
    request.log_file = bundle.parent_path() / "install.log";
    request.confinement = agent::Confinement{{root, bundle}};
    return request;
}

std::string read_text(const fs::path& path) {
    auto text = read_file(path, 1 << 20);
    return text ? *text : std::string();
}

}  // namespace

TEST_CASE("attack 1: a bundle directory with one tampered byte never verifies against its id", "[adversarial]") {
    // The id is the v2 info-hash: every 16 KiB block of every file, and each
    // file's name and executable bit. A flipped byte, a renamed file or a
    // dropped exec bit is a different bundle; the agent re-hashes staging
    // before anything runs (Swarm, verify_bundle_directory).
    testing::TempDir dir;
    const fs::path bundle = make_bundle(dir / "bundle");
    fs::permissions(bundle / "install.sh", fs::perms(0755), fs::perm_options::replace);
    const auto id = net::build_bundle_torrent(bundle).value().id;
    REQUIRE(net::verify_bundle_directory(bundle, id));

    {
        std::fstream file(bundle / "payload" / "data.bin", std::ios::binary | std::ios::in | std::ios::out);
        file.seekp(30'000);
        file.put('q');
    }
    auto tampered = net::verify_bundle_directory(bundle, id);
    REQUIRE_FALSE(tampered);
    CHECK(tampered.error().is(Errc::untrusted));
    CHECK_THAT(tampered.error().message(), Contains("does not match bundle"));

    write(bundle / "payload" / "data.bin", std::string(50'000, 'p'));
    REQUIRE(net::verify_bundle_directory(bundle, id));
    fs::permissions(bundle / "install.sh", fs::perms(0644), fs::perm_options::replace);
    CHECK_FALSE(net::verify_bundle_directory(bundle, id));
}

TEST_CASE("attack 15: symlinks and ../ paths leading out of a bundle are refused at creation and by the agent",
          "[adversarial]") {
    testing::TempDir dir;
    write(dir / "secret", "root:x:0:0");

    // `patchwave bundle create` builds the torrent with build_bundle_torrent:
    // a link out of the directory, relative or absolute, is refused.
    const fs::path bundle = make_bundle(dir / "bundle");
    fs::create_symlink("../secret", bundle / "escape");
    auto relative = net::build_bundle_torrent(bundle);
    REQUIRE_FALSE(relative);
    CHECK(relative.error().is(Errc::invalid_argument));
    CHECK_THAT(relative.error().message(), Contains("leaves the bundle directory"));
    fs::remove(bundle / "escape");
    fs::create_symlink(dir / "secret", bundle / "escape");
    CHECK_FALSE(net::build_bundle_torrent(bundle));
    fs::remove(bundle / "escape");

    // A hand-made torrent (the id signs whatever it lists) with a symlink
    // entry or a "../" path: the agent's swarm refuses its file list before
    // writing anything, whether the metadata came from a peer or was given.
    namespace lt = libtorrent;
    lt::file_storage with_link;
    with_link.set_name("bundle");
    with_link.add_file("bundle/install.sh", 100);
    with_link.add_file("bundle/etc-link", 0, lt::file_storage::flag_symlink, 0, "../../../etc");
    auto link = net::check_bundle_layout(with_link);
    REQUIRE_FALSE(link);
    CHECK(link.error().is(Errc::untrusted));
    CHECK_THAT(link.error().message(), Contains("is a symlink"));
    for (const char* path : {"bundle/../escape", "bundle/a/../../escape", "bundle/./x"}) {
        INFO(path);
        lt::file_storage dotted;
        dotted.set_name("bundle");
        dotted.add_file("bundle/install.sh", 100);
        dotted.add_file(path, 10);
        // libtorrent may already have cleaned the path; either way nothing may escape.
        auto layout = net::check_bundle_layout(dotted);
        const std::string stored = dotted.file_path(lt::file_index_t{1});
        if (layout)
            CHECK(stored.find("..") == std::string::npos);
        else
            CHECK_THAT(layout.error().message(), Contains("would leave the bundle directory"));
    }
    lt::file_storage clean;
    clean.set_name("bundle");
    clean.add_file("bundle/install.sh", 100);
    clean.add_file("bundle/payload/data.bin", 10);
    CHECK(net::check_bundle_layout(clean));

    // A link or fifo put into a staged (already verified) bundle is refused
    // before the install attempt starts, whatever it points to.
    const fs::path staged = make_bundle(dir / "staged");
    REQUIRE(agent::check_staged_bundle(staged));
    fs::create_symlink("/etc/passwd", staged / "payload" / "passwd");
    auto linked = agent::check_staged_bundle(staged);
    REQUIRE_FALSE(linked);
    CHECK(linked.error().is(Errc::untrusted));
    CHECK_THAT(linked.error().message(), Contains("payload/passwd is a symlink"));
    fs::remove(staged / "payload" / "passwd");
    REQUIRE(::mkfifo((staged / "pipe").c_str(), 0600) == 0);
    CHECK_FALSE(agent::check_staged_bundle(staged));
}

TEST_CASE("attack 15: a confined install command cannot write outside PATCHWAVE_ROOT", "[adversarial]") {
    // With confine_commands the step runs in its own mount namespace:
    // PATCHWAVE_ROOT and the bundle directory are writable, the rest of the
    // file system is read-only, /tmp is private and empty, /dev holds only
    // null, zero, full, random, urandom and tty. Where the kernel cannot do
    // that (no namespaces, kernel before 5.12), the command does not run.
    testing::TempDir dir;
    const fs::path bundle = make_bundle(dir / "bundle");
    const fs::path root = dir / "root";
    fs::create_directories(root / "etc");
    const fs::path outside = fs::path("/var/tmp") / ("patchwave-confine-" + std::to_string(::getpid()));
    const fs::path host_tmp = dir / "host-tmp-file";
    std::error_code ignored;
    fs::remove(outside, ignored);
    const std::string command =
        "echo patched > \"$PATCHWAVE_ROOT/etc/app.conf\" && echo staged > ./note && echo scratch > /tmp/scratch && "
        "cat /tmp/scratch > /dev/null && "
        "if echo escaped > " + outside.string() + "; then echo WROTE-OUTSIDE; fi; "
        "echo private > " + host_tmp.string() + "; "
        "if [ -e /dev/sda ] || [ -e /dev/vda ] || [ -e /dev/nvme0n1 ]; then echo SEES-DISKS; fi; "
        "if mount -o remount,rw / 2>/dev/null; then echo REMOUNTED; fi; "
        "exit 7";
    auto outcome = agent::run_command(confined_request(bundle, root, command));
    auto available = agent::confinement_available();
    if (!available) {
        WARN("confinement is not available here (" << available.error().message()
                                                   << "): checking that the command is refused instead");
        REQUIRE_FALSE(outcome);
        CHECK_THAT(outcome.error().message(), Contains("cannot confine the command"));
        CHECK_FALSE(fs::exists(root / "etc" / "app.conf"));
        CHECK_FALSE(fs::exists(outside));
        return;
    }
    REQUIRE(outcome);
    INFO(outcome->tail);
    CHECK(outcome->exit_code == 7);
    CHECK(read_text(root / "etc" / "app.conf") == "patched\n");  // inside the root: written
    CHECK(read_text(bundle / "note") == "staged\n");             // the bundle directory: written
    CHECK_FALSE(fs::exists(outside));                            // elsewhere: read-only file system
    CHECK_FALSE(fs::exists(host_tmp));  // written to the command's private /tmp, not the host's
    CHECK_THAT(outcome->tail, !Contains("WROTE-OUTSIDE") && !Contains("SEES-DISKS") && !Contains("REMOUNTED"));
    CHECK_THAT(outcome->tail, Contains("Read-only file system"));
    fs::remove(outside, ignored);

    // The same command unconfined does write there (the test can fail).
    agent::CommandRequest loose = confined_request(bundle, root, "echo escaped > " + outside.string());
    loose.confinement.reset();
    REQUIRE(agent::run_command(loose).value().exit_code == 0);
    CHECK(fs::exists(outside));
    fs::remove(outside, ignored);
}

TEST_CASE("attack 2: what a peer can make a swarm hold or wait for is capped", "[adversarial]") {
    // Payload can only be what the signed id lists (every block hashed); on
    // top of that the metadata a peer announces is capped at 4 MiB, and a
    // peer silent for a minute is dropped. The trickling peer itself is
    // test_adversarial_process's attack 2.
    namespace lt = libtorrent;
    const lt::settings_pack pack = net::make_settings_pack(net::SwarmConfig{});
    CHECK(pack.get_int(lt::settings_pack::max_metadata_size) == 4 * 1024 * 1024);
    CHECK(pack.get_int(lt::settings_pack::peer_timeout) == 60);
    CHECK(pack.get_int(lt::settings_pack::request_timeout) <= 60);
}

TEST_CASE("attack 15: confine_commands is an agent.toml switch that refuses to confine nothing", "[adversarial]") {
    // Off by default; on, it needs a system_root other than "/" (confined to
    // the whole file system, a command would be confined to nothing).
    const std::string base =
        "[agent]\nstate_dir = \"/var/lib/pw\"\nroot = \"/etc/pw/root.pwe\"\n"
        "certificate = \"/etc/pw/agent.cert\"\n";
    const std::string gossip = "[gossip]\nseeds = [\"10.0.0.1:7946\"]\nadvertise = \"10.0.0.2:7946\"\n";
    CHECK_FALSE(rollout::AgentConfig::parse_toml(base + gossip, "agent.toml").value().confine_commands);
    auto confined = rollout::AgentConfig::parse_toml(
        base + "system_root = \"/srv/image\"\nconfine_commands = true\n" + gossip, "agent.toml");
    REQUIRE(confined);
    CHECK(confined->confine_commands);
    auto nothing = rollout::AgentConfig::parse_toml(base + "confine_commands = true\n" + gossip, "agent.toml");
    REQUIRE_FALSE(nothing);
    CHECK_THAT(nothing.error().message(), Contains("agent.toml:5") && Contains("confine_commands"));
}
