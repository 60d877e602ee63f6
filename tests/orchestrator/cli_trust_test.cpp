#include <algorithm>
#include <regex>
#include <catch2/catch.hpp>
#include <sys/stat.h>

#include "cli_fixture.hpp"
#include "common/file_io.hpp"
#include "crypto/key_file.hpp"
#include "crypto/trust_root.hpp"
#include "rollout/certificate.hpp"

using namespace patchwave;
using patchwave::testing::PatchwaveCli;

namespace {
crypto::Envelope read_envelope(const std::filesystem::path& file) {
    auto bytes = read_file(file, 1 << 20);
    REQUIRE(bytes);
    auto envelope = crypto::Envelope::decode(*bytes);
    REQUIRE(envelope);
    return *envelope;
}
Timestamp wall_now() { return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()); }
}  // namespace

TEST_CASE("init creates keys 0600 and a self-signed root v1 agents can pin", "[orchestrator][cli]") {
    // The exported root verifies as an agent's initial pin with the requested thresholds.
    PatchwaveCli cli;
    cli.init();
    for (const auto* name : {"root", "release", "operator", "enrollment", "approver-1", "approver-2", "approver-3"}) {
        struct stat info {};
        REQUIRE(::stat((cli.home() / "keys" / (std::string(name) + ".key")).c_str(), &info) == 0);
        CHECK((info.st_mode & 0777) == 0600);
    }
    cli.ok({"trust", "export", "--out", cli.file("root.pwe").string()});
    auto root = crypto::verify_initial_root(read_envelope(cli.file("root.pwe")), wall_now());
    REQUIRE(root);
    CHECK(root->version == 1);
    CHECK(root->role(crypto::Role::approver).keys.size() == 3);
    CHECK(root->role(crypto::Role::approver).threshold == 2);
    CHECK(root->approver_emergency_threshold == 1);
}

TEST_CASE("init refuses to overwrite an existing home", "[orchestrator][cli]") {
    // Exit 1 with the reason; the first home's root is untouched.
    PatchwaveCli cli;
    cli.init();
    cli.ok({"trust", "export", "--out", cli.file("before.pwe").string()});
    const auto again = cli.run({"init"});
    CHECK(again.exit_code == 1);
    CHECK(again.err == "error: home " + cli.home().string() + " already exists; refusing to overwrite it\n");
    cli.ok({"trust", "export", "--out", cli.file("after.pwe").string()});
    CHECK(read_file(cli.file("before.pwe"), 1 << 20).value() == read_file(cli.file("after.pwe"), 1 << 20).value());
}

TEST_CASE("init fills an existing empty home, as a package's state directory is", "[orchestrator][cli]") {
    // The service user owns /var/lib/patchwave but cannot write /var/lib: the
    // home is built inside the directory and nothing of the build is left.
    PatchwaveCli cli;
    std::filesystem::create_directories(cli.home());
    cli.init();
    for (const auto* name : {"root", "release", "operator", "enrollment", "approver-1", "approver-2", "approver-3"}) {
        struct stat info {};
        REQUIRE(::stat((cli.home() / "keys" / (std::string(name) + ".key")).c_str(), &info) == 0);
        CHECK((info.st_mode & 0777) == 0600);
    }
    std::vector<std::string> entries;
    for (const auto& entry : std::filesystem::directory_iterator(cli.home())) entries.push_back(entry.path().filename());
    std::sort(entries.begin(), entries.end());
    CHECK(entries == std::vector<std::string>{"bundles", "keys", "patchwave.db", "tmp"});
    cli.ok({"trust", "export", "--out", cli.file("root.pwe").string()});
    auto root = crypto::verify_initial_root(read_envelope(cli.file("root.pwe")), wall_now());
    REQUIRE(root);
    CHECK(root->version == 1);
    // Now it is a home like any other.
    const auto again = cli.run({"init"});
    CHECK(again.exit_code == 1);
    CHECK(again.err == "error: home " + cli.home().string() + " already exists; refusing to overwrite it\n");
}

TEST_CASE("init refuses a non-empty directory that is not a home, and changes nothing in it", "[orchestrator][cli]") {
    // What an interrupted in-place init leaves (keys, no database) or any
    // other directory: mixing in a second set of keys would lose the first.
    PatchwaveCli cli;
    std::filesystem::create_directories(cli.home() / "keys");
    REQUIRE(write_file_atomic(cli.home() / "keys" / "root.key", "not ours", 0600));
    const auto result = cli.run({"init"});
    CHECK(result.exit_code == 1);
    CHECK(result.err == "error: home " + cli.home().string() +
                            " is not empty but holds no patchwave.db (left by an interrupted init, or another "
                            "directory); refusing to write into it: empty it or pass another --home\n");
    std::vector<std::string> entries;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(cli.home())) {
        entries.push_back(std::filesystem::relative(entry.path(), cli.home()));
    }
    std::sort(entries.begin(), entries.end());
    CHECK(entries == std::vector<std::string>{"keys", "keys/root.key"});
    CHECK(read_file(cli.home() / "keys" / "root.key", 100).value() == "not ours");

    // A file where the home should be is refused too.
    PatchwaveCli other;
    REQUIRE(write_file_atomic(other.home(), "x", 0600));
    const auto on_file = other.run({"init"});
    CHECK(on_file.exit_code == 1);
    CHECK(on_file.err == "error: home " + other.home().string() +
                             " already exists and is not a directory; refusing to overwrite it\n");
}

TEST_CASE("init refuses thresholds above the number of approvers", "[orchestrator][cli]") {
    // A bad value is a usage error (exit 2) and creates nothing.
    PatchwaveCli cli;
    const auto result = cli.run({"init", "--approvers", "2", "--threshold", "3"});
    CHECK(result.exit_code == 2);
    CHECK(result.err == "error: --threshold 3 and --emergency-threshold 1 must not exceed --approvers 2\n");
    CHECK_FALSE(std::filesystem::exists(cli.home()));
}

TEST_CASE("commands without a home say how to create one", "[orchestrator][cli]") {
    // Exit 1, naming the path and the fix.
    PatchwaveCli cli;
    const auto result = cli.run({"status"});
    CHECK(result.exit_code == 1);
    CHECK(result.err == "error: no Patchwave home at " + cli.home().string() +
                            " (create one with `patchwave init`, or pass --home)\n");
}

TEST_CASE("unknown commands and flags are usage errors", "[orchestrator][cli]") {
    // Exit 2 for anything CLI11 cannot parse.
    PatchwaveCli cli;
    CHECK(cli.run({"frobnicate"}).exit_code == 2);
    CHECK(cli.run({"init", "--no-such-flag"}).exit_code == 2);
    CHECK(cli.run({"rollout"}).exit_code == 2);
    CHECK(cli.run({"--help"}).exit_code == 0);
    CHECK(cli.run({"rollout", "--help"}).exit_code == 0);
}

TEST_CASE("a version flag prints the name and the version, with or without a command", "[orchestrator][cli]") {
    PatchwaveCli cli;
    for (const auto& argv : {std::vector<std::string>{"--version"}, std::vector<std::string>{"--version", "status"}}) {
        const auto result = cli.run(argv);
        CHECK(result.exit_code == 0);
        CHECK(std::regex_match(result.out, std::regex("patchwave [0-9]+\\.[0-9]+\\.[0-9]+\n")));
        CHECK(result.err.empty());
    }
    CHECK_FALSE(std::filesystem::exists(cli.home()));
}

TEST_CASE("key generate writes a 0600 key and prints its public key", "[orchestrator][cli]") {
    // The printed key is the file's public key; a second write to the same file is refused.
    PatchwaveCli cli;
    std::string printed = cli.ok({"key", "generate", "--out", cli.file("k.key").string()});
    auto key = crypto::load_private_key(cli.file("k.key"));
    REQUIRE(key);
    CHECK(printed == key->public_key().to_text() + "\n");
    const auto again = cli.run({"key", "generate", "--out", cli.file("k.key").string()});
    CHECK(again.exit_code == 1);
    CHECK(crypto::load_private_key(cli.file("k.key")).value().public_key() == key->public_key());
}

TEST_CASE("enroll signs a certificate that verifies against the root", "[orchestrator][cli]") {
    // Host, labels and key survive; the enrollment role signed it.
    PatchwaveCli cli;
    cli.init();
    cli.enroll("web-01", {"ring=test", "site=ams"});
    cli.ok({"trust", "export", "--out", cli.file("root.pwe").string()});
    auto root = crypto::verify_initial_root(read_envelope(cli.file("root.pwe")), wall_now()).value();
    auto certificate = rollout::verify_certificate(read_envelope(cli.file("web-01.cert")), root, wall_now());
    REQUIRE(certificate);
    CHECK(certificate->host == "web-01");
    CHECK(certificate->labels == rollout::Labels{{"ring", "test"}, {"site", "ams"}});
    CHECK(certificate->agent_key == crypto::load_private_key(cli.file("web-01.key")).value().public_key());
}

TEST_CASE("enroll refuses malformed labels and keys", "[orchestrator][cli]") {
    // Each bad value is exit 2 with the flag named.
    PatchwaveCli cli;
    cli.init();
    const auto pub = crypto::PrivateKey::generate().public_key().to_text();
    const auto bad_label = cli.run({"enroll", "--pubkey", pub, "--host", "h", "--label", "ring", "--out", "x.cert"});
    CHECK(bad_label.exit_code == 2);
    CHECK(bad_label.err == "error: --label \"ring\": expected KEY=VALUE\n");
    const auto bad_key = cli.run({"enroll", "--pubkey", "nonsense", "--host", "h", "--out", "x.cert"});
    CHECK(bad_key.exit_code == 2);
    CHECK(bad_key.err == "error: --pubkey: \"nonsense\" is neither a public key (ed25519:...) nor a key file\n");
    CHECK(cli.run({"enroll", "--pubkey", pub, "--host", "bad host!", "--out", "x.cert"}).exit_code == 2);
}

TEST_CASE("rotating the release key yields a root agents can walk to", "[orchestrator][cli]") {
    // v1 -> v2 verifies with the agent's rules, and the home signs with the new key afterwards.
    PatchwaveCli cli;
    cli.init();
    cli.ok({"trust", "export", "--out", cli.file("v1.pwe").string()});
    const std::string old_release = crypto::load_private_key(cli.home() / "keys" / "release.key").value().public_key().to_text();
    cli.ok({"key", "generate", "--out", cli.file("new-release.key").string()});
    cli.ok({"trust", "rotate", "--role", "release", "--add", cli.file("new-release.key").string(), "--remove", old_release});
    cli.ok({"trust", "export", "--out", cli.file("v2.pwe").string()});
    const auto v1 = crypto::verify_initial_root(read_envelope(cli.file("v1.pwe")), wall_now()).value();
    const std::vector<crypto::Envelope> chain{read_envelope(cli.file("v2.pwe"))};
    auto v2 = crypto::verify_root_chain(v1, chain, wall_now());
    REQUIRE(v2);
    CHECK(v2->version == 2);
    const auto new_key = crypto::load_private_key(cli.file("new-release.key")).value().public_key();
    CHECK(v2->role(crypto::Role::release).keys == std::vector<crypto::PublicKey>{new_key});
    // The imported key is in the home now.
    bool imported = false;
    for (const auto& entry : std::filesystem::directory_iterator(cli.home() / "keys")) {
        auto key = crypto::load_private_key(entry.path());
        imported = imported || (key && key->public_key() == new_key);
    }
    CHECK(imported);
    // Older versions stay exportable for agents pinned at them.
    cli.ok({"trust", "export", "--version", "1", "--out", cli.file("v1-again.pwe").string()});
    CHECK(read_file(cli.file("v1.pwe"), 1 << 20).value() == read_file(cli.file("v1-again.pwe"), 1 << 20).value());
}

TEST_CASE("rotating the root key needs the new key to sign", "[orchestrator][cli]") {
    // With only the new public key the rotation is refused and nothing changes;
    // with its private key file it succeeds and the chain verifies.
    PatchwaveCli cli;
    cli.init();
    cli.ok({"trust", "export", "--out", cli.file("v1.pwe").string()});
    const std::string pub = cli.ok({"key", "generate", "--out", cli.file("new-root.key").string()});
    const std::string old_root = crypto::load_private_key(cli.home() / "keys" / "root.key").value().public_key().to_text();
    const auto refused = cli.run({"trust", "rotate", "--role", "root", "--add", pub.substr(0, pub.size() - 1), "--remove", old_root});
    CHECK(refused.exit_code == 1);
    CHECK(refused.err.find("the new root keys must sign too") != std::string::npos);
    CHECK(cli.run({"trust", "export", "--version", "2", "--out", cli.file("none.pwe").string()}).exit_code == 1);

    cli.ok({"trust", "rotate", "--role", "root", "--add", cli.file("new-root.key").string(), "--remove", old_root});
    cli.ok({"trust", "export", "--out", cli.file("v2.pwe").string()});
    const auto v1 = crypto::verify_initial_root(read_envelope(cli.file("v1.pwe")), wall_now()).value();
    const std::vector<crypto::Envelope> chain{read_envelope(cli.file("v2.pwe"))};
    CHECK(crypto::verify_root_chain(v1, chain, wall_now()));
    // A further rotation is signed by the new root key alone.
    cli.ok({"trust", "rotate", "--role", "approver", "--threshold", "3"});
    cli.ok({"trust", "export", "--out", cli.file("v3.pwe").string()});
    const std::vector<crypto::Envelope> longer{read_envelope(cli.file("v2.pwe")), read_envelope(cli.file("v3.pwe"))};
    auto v3 = crypto::verify_root_chain(v1, longer, wall_now());
    REQUIRE(v3);
    CHECK(v3->role(crypto::Role::approver).threshold == 3);
}

TEST_CASE("impossible rotations are refused", "[orchestrator][cli]") {
    // Removing a role's last key, a threshold above the keys, unknown roles and no-op rotations.
    PatchwaveCli cli;
    cli.init();
    const std::string operator_key =
        crypto::load_private_key(cli.home() / "keys" / "operator.key").value().public_key().to_text();
    const auto last = cli.run({"trust", "rotate", "--role", "operator", "--remove", operator_key});
    CHECK(last.exit_code == 2);
    CHECK(last.err == "error: the rotated trust root would be invalid: roles.operator.keys: at least one key is required\n");
    CHECK(cli.run({"trust", "rotate", "--role", "approver", "--threshold", "4"}).exit_code == 2);
    CHECK(cli.run({"trust", "rotate", "--role", "janitor", "--threshold", "1"}).exit_code == 2);
    const auto nothing = cli.run({"trust", "rotate", "--role", "release"});
    CHECK(nothing.exit_code == 2);
    CHECK(cli.run({"trust", "export", "--version", "2", "--out", cli.file("none.pwe").string()}).exit_code == 1);
}
