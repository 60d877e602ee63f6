#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "crypto/key_file.hpp"
#include "net/bundle_torrent.hpp"
#include "orchestrator/home.hpp"
#include "orchestrator/sqlite.hpp"
#include "support/run_command.hpp"
#include "support/temp_dir.hpp"

using namespace patchwave;
using namespace patchwave::orchestrator;
using patchwave::testing::CommandResult;
namespace fs = std::filesystem;

namespace {

const std::string kToml = R"(name = "openssl-cve-2026-1234"
version = "3.0.22-1"
priority = "critical"
category = "security"
reboot = "required"
paths = ["/etc/ssl/openssl.cnf"]
install = { command = "./install.sh", timeout = "10m" }
)";

void write(const fs::path& path, const std::string& text, mode_t mode = 0644) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
    REQUIRE(::chmod(path.c_str(), mode) == 0);
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// A home made by the library (init is tested with its own command) and the
// bundle commands run through the real binary.
struct CliHome {
    testing::TempDir dir;
    fs::path home = dir / "home";

    CliHome() {
        InitOptions options;
        options.approvers = 3;
        options.threshold = 2;
        options.emergency_threshold = 1;
        options.now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
        REQUIRE(Home::init(home, options));
    }

    CommandResult run(std::vector<std::string> args) const {
        std::vector<std::string> argv = {PATCHWAVE_BIN, "--home", home.string(), "bundle"};
        argv.insert(argv.end(), args.begin(), args.end());
        return testing::run_command(argv);
    }

    fs::path bundle_dir(const std::string& name, const std::string& payload = "payload\n",
                        const std::string& toml = kToml) const {
        const fs::path path = dir / name;
        write(path / "bundle.toml", toml);
        write(path / "install.sh", "#!/bin/sh\nexit 0\n", 0755);
        write(path / "data.bin", payload);
        return path;
    }

    std::string create(const std::string& name, const std::string& payload = "payload\n") const {
        const auto result = run({"create", bundle_dir(name, payload).string()});
        REQUIRE(result.exit_code == 0);
        return first_line(result.out);
    }
};

}  // namespace

TEST_CASE("cli: bundle create prints the id, and the same id again for the same content", "[orchestrator]") {
    // stdout is exactly the 64-hex id; a second create exits 0 with the same id and says so on stderr.
    CliHome home;
    const auto first = home.run({"create", home.bundle_dir("src").string()});
    REQUIRE(first.exit_code == 0);
    REQUIRE(first.out.size() == 65);
    CHECK(first.out.back() == '\n');
    const std::string id = first_line(first.out);
    CHECK(std::all_of(id.begin(), id.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }));
    CHECK(id == rollout::to_hex(net::build_bundle_torrent(home.dir / "src").value().id));

    const auto again = home.run({"create", home.bundle_dir("copy").string()});
    CHECK(again.exit_code == 0);
    CHECK(again.out == first.out);
    CHECK(first_line(again.err) == "bundle " + id.substr(0, 12) +
                                       " (openssl-cve-2026-1234 3.0.22-1) is already in the catalog (same content, "
                                       "same id); nothing changed");
}

TEST_CASE("cli: bundle create --json has the documented fields", "[orchestrator]") {
    // The object parses and carries id, name, version, priority, category, reboot, sizes and already_present.
    CliHome home;
    const fs::path dir = home.bundle_dir("src");
    const auto created = home.run({"create", dir.string(), "--json"});
    REQUIRE(created.exit_code == 0);
    const auto json = nlohmann::json::parse(created.out);
    CHECK(json.at("id").get<std::string>().size() == 64);
    CHECK(json.at("name") == "openssl-cve-2026-1234");
    CHECK(json.at("version") == "3.0.22-1");
    CHECK(json.at("priority") == "critical");
    CHECK(json.at("category") == "security");
    CHECK(json.at("reboot") == "required");
    CHECK(json.at("triage") == "proceed");
    CHECK(json.at("total_bytes") == fs::file_size(dir / "bundle.toml") + fs::file_size(dir / "install.sh") + 8);
    CHECK(json.at("file_count") == 3);
    CHECK(json.at("already_present") == false);
    CHECK(json.at("commands").at("install").at("command") == "./install.sh");
    CHECK(json.at("commands").at("verify").is_null());
    CHECK(fs::is_directory(json.at("content_dir").get<std::string>()));
    CHECK(fs::is_regular_file(json.at("torrent").get<std::string>()));

    const auto again = home.run({"create", dir.string(), "--json"});
    REQUIRE(again.exit_code == 0);
    CHECK(nlohmann::json::parse(again.out).at("already_present") == true);
}

TEST_CASE("cli: bundle create refusals have their exit codes and messages", "[orchestrator]") {
    // Bad bundle.toml and escaping symlinks exit 2, a missing directory 1, each with one `error:` line.
    CliHome home;
    const fs::path bad = home.bundle_dir("bad", "x", "name = \"fix\"\nversion = \"1\"\ncategory = \"urgent\"\n"
                                                     "install = { command = \"./i.sh\" }\n");
    const auto parse = home.run({"create", bad.string()});
    CHECK(parse.exit_code == 2);
    CHECK_THAT(parse.err, Catch::StartsWith("error: " + (bad / "bundle.toml").string() + ":3: "));
    CHECK(std::count(parse.err.begin(), parse.err.end(), '\n') == 1);
    CHECK(parse.out.empty());

    const fs::path escaping = home.bundle_dir("escaping");
    fs::create_symlink("../../etc/passwd", escaping / "passwd");
    const auto link = home.run({"create", escaping.string()});
    CHECK(link.exit_code == 2);
    const std::string target = (fs::path("..") / ".." / "etc" / "passwd").string();
    CHECK(link.err == "error: " + (escaping / "passwd").string() + ": symlink to " + target +
                          " leaves the bundle directory\n");

    const fs::path special = home.bundle_dir("special");
    REQUIRE(::mkfifo((special / "fifo").c_str(), 0644) == 0);
    const auto fifo = home.run({"create", special.string()});
    CHECK(fifo.exit_code == 2);
    CHECK_THAT(fifo.err, Catch::StartsWith("error: " + (special / "fifo").string() + ": not a regular file"));

    const auto missing = home.run({"create", (home.dir / "nowhere").string()});
    CHECK(missing.exit_code == 1);
    CHECK(missing.err == "error: bundle directory " + (home.dir / "nowhere").string() + " does not exist\n");

    CHECK(fs::is_empty(home.home / "bundles"));
    CHECK(fs::is_empty(home.home / "tmp"));
}

TEST_CASE("cli: bundle list shows the catalog as a table and as JSON", "[orchestrator]") {
    // Empty catalog: no rows; then one row per bundle with short id, triage and approvals "0/2".
    CliHome home;
    const auto empty = home.run({"list"});
    CHECK(empty.exit_code == 0);
    CHECK(empty.out.empty());
    const auto empty_json = home.run({"list", "--json"});
    CHECK(nlohmann::json::parse(empty_json.out) == nlohmann::json::array());

    const std::string id = home.create("src");
    const auto table = home.run({"list"});
    REQUIRE(table.exit_code == 0);
    CHECK_THAT(table.out, Catch::StartsWith("ID            NAME                   VERSION   PRIORITY  CATEGORY  TRIAGE   "
                                            "APPROVALS  SIZE"));
    const std::string row = table.out.substr(table.out.find('\n') + 1);
    CHECK_THAT(row, Catch::StartsWith(id.substr(0, 12) + "  openssl-cve-2026-1234  3.0.22-1  critical  security  "
                                                         "proceed  0/2        "));

    const auto listed = nlohmann::json::parse(home.run({"list", "--json"}).out);
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].at("id") == id);
    CHECK(listed[0].at("approval_count") == 0);
    CHECK(listed[0].at("approvals_required").at("normal") == 2);
}

TEST_CASE("cli: bundle show tells the approvals each kind of rollout needs", "[orchestrator]") {
    // Text names both thresholds and the test ring; JSON carries approvals_required normal/emergency/test_ring.
    CliHome home;
    const std::string id = home.create("src");
    const auto text = home.run({"show", id.substr(0, 8)});
    REQUIRE(text.exit_code == 0);
    CHECK_THAT(text.out, Catch::StartsWith("id:           " + id + "\n"));
    CHECK_THAT(text.out, Catch::Contains("install:      ./install.sh  (timeout 10m)\n"));
    CHECK_THAT(text.out, Catch::Contains("approvals:    0 (normal rollouts need 2, emergency rollouts need 1; the test "
                                         "ring (first wave of a multi-wave rollout) needs none)\n"));

    const auto json = nlohmann::json::parse(home.run({"show", id, "--json"}).out);
    CHECK(json.at("id") == id);
    CHECK(json.at("approvals_required") == nlohmann::json({{"normal", 2}, {"emergency", 1}, {"test_ring", 0}}));
    CHECK(json.at("paths") == nlohmann::json::array({"/etc/ssl/openssl.cnf"}));
}

TEST_CASE("cli: bundle ids and prefixes are resolved or refused with a clear message", "[orchestrator]") {
    // Too short and ambiguous prefixes exit 2, an unknown one exits 1, each naming the prefix.
    CliHome home;
    const std::string id = home.create("src");
    CHECK(home.run({"show", id.substr(0, 9)}).exit_code == 0);

    const auto short_prefix = home.run({"show", "1a2b"});
    CHECK(short_prefix.exit_code == 2);
    CHECK(short_prefix.err == "error: bundle id prefix \"1a2b\" is too short (8+ hex characters)\n");

    const std::string unknown = id[0] == 'd' ? "eeeeeeee" : "deadbeef";
    const auto missing = home.run({"show", unknown});
    CHECK(missing.exit_code == 1);
    CHECK(missing.err == "error: no bundle matches \"" + unknown + "\"\n");

    {
        auto db = Database::open(home.home / "patchwave.db");
        REQUIRE(db);
        for (const char* tail : {"1", "2"}) {
            auto insert = db->prepare(
                "INSERT INTO bundles (id, name, version, priority, category, description, reboot, metadata_digest, "
                "bundle_toml, triage, total_bytes, file_count, created) VALUES (?, 'fake', '1', 'normal', "
                "'bugfix', '', 'none', '00', ?, 'proceed', 1, 1, '2026-11-20T10:00:00Z')");
            REQUIRE(insert);
            insert->bind(1, "abcdef01" + std::string(56, *tail)).bind_blob(2, kToml);
            REQUIRE(insert->run());
        }
    }
    const auto ambiguous = home.run({"triage", "abcdef01", "--status", "hold"});
    CHECK(ambiguous.exit_code == 2);
    CHECK(ambiguous.err == "error: bundle id prefix \"abcdef01\" is ambiguous: it matches abcdef011111 (fake 1), "
                           "abcdef012222 (fake 1); give more characters\n");
}

TEST_CASE("cli: bundle triage sets status and priority, and refuses bad values", "[orchestrator]") {
    // hold/low shows up in show --json; a bad status exits 2 and changes nothing.
    CliHome home;
    const std::string id = home.create("src");
    const auto triaged = home.run({"triage", id.substr(0, 8), "--status", "hold", "--priority", "low"});
    REQUIRE(triaged.exit_code == 0);
    CHECK(triaged.out == "bundle " + id.substr(0, 12) +
                             " (openssl-cve-2026-1234 3.0.22-1): triage proceed -> hold, priority critical -> low\n");
    auto json = nlohmann::json::parse(home.run({"show", id, "--json"}).out);
    CHECK(json.at("triage") == "hold");
    CHECK(json.at("priority") == "low");

    const auto bad = home.run({"triage", id, "--status", "paused"});
    CHECK(bad.exit_code == 2);
    CHECK(bad.err == "error: --status: \"paused\" is not proceed, hold or cancelled\n");
    const auto bad_priority = home.run({"triage", id, "--status", "proceed", "--priority", "urgent"});
    CHECK(bad_priority.exit_code == 2);
    CHECK_THAT(bad_priority.err, Catch::StartsWith("error: --priority: \"urgent\" is not"));
    CHECK(home.run({"triage", id}).exit_code == 2);
    json = nlohmann::json::parse(home.run({"show", id, "--json"}).out);
    CHECK(json.at("triage") == "hold");
}

TEST_CASE("cli: bundle approve signs with approver keys and refuses others", "[orchestrator]") {
    // Approver keys count; the release key and a stranger's key exit 3 naming the file; no --change exits 2;
    // a group-readable key file is refused.
    CliHome home;
    const std::string id = home.create("src");
    const fs::path keys = home.home / "keys";
    const auto approved = home.run({"approve", id.substr(0, 8), "--key", (keys / "approver-1.key").string(),
                                    "--change", "CHG-1234", "--note", "tested in staging"});
    REQUIRE(approved.exit_code == 0);
    CHECK_THAT(approved.out, Catch::Contains("for CHG-1234: 1 approval (normal rollouts need 2"));
    REQUIRE(home.run({"approve", id, "--key", (keys / "approver-2.key").string(), "--change", "CHG-1234"})
                .exit_code == 0);
    auto json = nlohmann::json::parse(home.run({"show", id, "--json"}).out);
    CHECK(json.at("approval_count") == 2);
    REQUIRE(json.at("approvals").size() == 2);
    CHECK(json.at("approvals")[0].at("change_ref") == "CHG-1234");
    CHECK(json.at("approvals")[0].at("note") == "tested in staging");
    CHECK(json.at("approvals")[0].at("counts") == true);

    const fs::path release = keys / "release.key";
    const auto public_release = crypto::load_private_key(release).value().public_key().to_text();
    const auto refused = home.run({"approve", id, "--key", release.string(), "--change", "CHG-1"});
    CHECK(refused.exit_code == 3);
    CHECK(refused.err == "error: " + release.string() + ": key " + public_release +
                             " is not an approver in trust root v1 (which lists 3 approver keys)\n");

    const fs::path stranger = home.dir / "stranger.key";
    REQUIRE(crypto::save_private_key(stranger, crypto::PrivateKey::generate()));
    CHECK(home.run({"approve", id, "--key", stranger.string(), "--change", "CHG-1"}).exit_code == 3);

    const auto no_change = home.run({"approve", id, "--key", (keys / "approver-3.key").string()});
    CHECK(no_change.exit_code == 2);
    CHECK(no_change.err ==
          "error: bundle approve needs --change REF: every approval is tied to a change-order reference\n");

    const fs::path loose = home.dir / "loose.key";
    fs::copy_file(keys / "approver-3.key", loose);
    REQUIRE(::chmod(loose.c_str(), 0640) == 0);
    const auto readable = home.run({"approve", id, "--key", loose.string(), "--change", "CHG-1"});
    CHECK(readable.exit_code == 1);
    CHECK_THAT(readable.err, Catch::StartsWith("error: private key " + loose.string()));

    json = nlohmann::json::parse(home.run({"show", id, "--json"}).out);
    CHECK(json.at("approval_count") == 2);
}

TEST_CASE("cli: every bundle command has --help, and a missing home is an error", "[orchestrator]") {
    // --help exits 0 on each level; without a home, list exits 1 naming the path.
    CliHome home;
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"--help"}, {"create", "--help"}, {"list", "--help"}, {"show", "--help"}, {"triage", "--help"},
             {"approve", "--help"}}) {
        const auto help = home.run(args);
        CHECK(help.exit_code == 0);
        CHECK_THAT(help.out, Catch::Contains("Usage: patchwave bundle"));
    }
    CHECK(home.run({}).exit_code == 2);
    const auto nohome = testing::run_command({PATCHWAVE_BIN, "--home", (home.dir / "none").string(), "bundle", "list"});
    CHECK(nohome.exit_code == 1);
    CHECK_THAT(nohome.err, Catch::StartsWith("error: no Patchwave home at " + (home.dir / "none").string()));
}

TEST_CASE("cli: killing bundle create midway leaves no half bundle", "[orchestrator]") {
    // kill -9 during the copy of a 300 MB bundle: no catalog row, nothing under bundles/, tmp/ emptied by the
    // next exclusive command, and creating the bundle again works.
    CliHome home;
    const fs::path dir = home.bundle_dir("big");
    {
        // Random bytes (so no file system can shortcut them), made fast: one
        // random MiB, varied per chunk.
        std::mt19937_64 rng(42);
        std::vector<std::uint64_t> chunk((1 << 20) / sizeof(std::uint64_t));
        for (auto& word : chunk) word = rng();
        std::ofstream out(dir / "data.bin", std::ios::binary | std::ios::trunc);
        for (std::uint64_t i = 0; i < 300; ++i) {
            chunk[0] = i;
            out.write(reinterpret_cast<const char*>(chunk.data()), static_cast<std::streamsize>(chunk.size() * 8));
        }
        REQUIRE(out.good());
    }

    const int pid = testing::spawn_command({PATCHWAVE_BIN, "--home", home.home.string(), "bundle", "create",
                                            dir.string()});
    REQUIRE(pid > 0);
    // Kill as soon as the copy has bytes in it: then the process is midway.
    bool midway = false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (int polls = 0; polls < 100'000 && !midway && std::chrono::steady_clock::now() < deadline; ++polls) {
        std::error_code ec;
        for (fs::directory_iterator it(home.home / "tmp", ec), end; !ec && it != end; it.increment(ec)) {
            if (fs::file_size(it->path() / "bundle" / "data.bin", ec) > 0 && !ec) midway = true;
        }
        if (!midway) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    ::kill(pid, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(midway);
    REQUIRE(WIFSIGNALED(status));

    // Readers see no bundle, and nothing half-made is visible in bundles/.
    const auto listed = home.run({"list", "--json"});
    REQUIRE(listed.exit_code == 0);
    CHECK(nlohmann::json::parse(listed.out).empty());
    CHECK(fs::is_empty(home.home / "bundles"));
    CHECK_FALSE(fs::is_empty(home.home / "tmp"));

    // Any exclusive command sweeps tmp/, even one that then fails.
    CHECK(home.run({"triage", "00000000", "--status", "hold"}).exit_code == 1);
    CHECK(fs::is_empty(home.home / "tmp"));

    const auto again = home.run({"create", dir.string()});
    REQUIRE(again.exit_code == 0);
    const std::string id = first_line(again.out);
    CHECK(id.size() == 64);
    CHECK(nlohmann::json::parse(home.run({"list", "--json"}).out).size() == 1);
    CHECK(net::verify_bundle_directory(home.home / "bundles" / id / "bundle", rollout::parse_bundle_id(id).value()));
}
