#include "agent/trust_state.hpp"

#include <fstream>

#include <catch2/catch.hpp>

#include "support/temp_dir.hpp"
#include "support/test_keys.hpp"

using namespace patchwave;
using namespace patchwave::agent;
using namespace std::chrono;
using patchwave::testing::TempDir;
using patchwave::testing::test_key;

namespace {

const Timestamp kNow = sys_days{2026y / November / 25};

// Root `version` whose root role is key `root_key` alone; the enrollment role is key 55.
crypto::TrustRoot make_root(std::uint64_t version, std::uint8_t root_key, Timestamp expires = kNow + days(365)) {
    crypto::TrustRoot root;
    root.version = version;
    root.expires = expires;
    root.role(crypto::Role::root) = {{test_key(root_key).public_key()}, 1};
    root.role(crypto::Role::release) = {{test_key(50).public_key()}, 1};
    root.role(crypto::Role::operator_) = {{test_key(51).public_key()}, 1};
    root.role(crypto::Role::approver) = {{test_key(52).public_key()}, 1};
    root.role(crypto::Role::enrollment) = {{test_key(55).public_key()}, 1};
    return root;
}

std::vector<std::uint8_t> sign_root(const crypto::TrustRoot& root, std::vector<std::uint8_t> signer_ids) {
    std::vector<crypto::PrivateKey> keys;
    for (auto id : signer_ids)
        keys.push_back(test_key(id));
    std::vector<const crypto::PrivateKey*> pointers;
    for (const auto& key : keys)
        pointers.push_back(&key);
    return crypto::TrustRoot::sign(root, pointers).value().encode().value();
}

void write_bytes(const std::filesystem::path& path, std::span<const std::uint8_t> bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

void write_text(const std::filesystem::path& path, std::string_view text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
}

// A state with v1 pinned (root key 1) and an adopted-roots directory.
struct Roots {
    TempDir dir;
    std::filesystem::path pinned = dir / "root.env";
    std::filesystem::path adopted = dir / "roots";

    explicit Roots(Timestamp v1_expires = kNow + days(365)) {
        std::filesystem::create_directory(adopted);
        write_bytes(pinned, sign_root(make_root(1, 1, v1_expires), {1}));
    }
    // v2 (key 2) signed by keys 1 and 2; v3 (key 3) by 2 and 3; v4 (key 4) by 3 and 4.
    void adopt(std::uint64_t version, Timestamp expires = kNow + days(365)) {
        const auto key = static_cast<std::uint8_t>(version);
        write_bytes(adopted / ("root-v" + std::to_string(version) + ".env"),
                    sign_root(make_root(version, key, expires), {static_cast<std::uint8_t>(key - 1), key}));
    }
};

rollout::AgentCertificate certificate(std::uint8_t agent_key, Timestamp expires = kNow + days(365)) {
    rollout::AgentCertificate out;
    out.agent_key = test_key(agent_key).public_key();
    out.host = "web-01";
    out.labels = {{"ring", "prod"}};
    out.issued = kNow - days(30);
    out.expires = expires;
    return out;
}

}  // namespace

TEST_CASE("trust state: the pinned root alone loads", "[agent][trust_state]") {
    // No adopted roots (an empty directory, or none at all): v1.
    Roots roots;
    auto root = load_trust_root(roots.pinned, roots.adopted, kNow);
    REQUIRE(root);
    CHECK(*root == make_root(1, 1));
    auto no_dir = load_trust_root(roots.pinned, roots.dir / "missing", kNow);
    REQUIRE(no_dir);
    CHECK(no_dir->version == 1);
}

TEST_CASE("trust state: adopted roots are walked forward", "[agent][trust_state]") {
    // root-v2.env and root-v3.env continue the chain: v3 is the trusted root.
    Roots roots;
    roots.adopt(2);
    roots.adopt(3);
    auto root = load_trust_root(roots.pinned, roots.adopted, kNow);
    REQUIRE(root);
    CHECK(*root == make_root(3, 3));
}

TEST_CASE("trust state: a gap in the adopted versions ends the walk", "[agent][trust_state]") {
    // v2 and v4 without v3: the walk stops at v2 and v4 is not read.
    Roots roots;
    roots.adopt(2);
    roots.adopt(4);
    auto root = load_trust_root(roots.pinned, roots.adopted, kNow);
    REQUIRE(root);
    CHECK(root->version == 2);
    CHECK(*root == make_root(2, 2));
}

TEST_CASE("trust state: an unreadable adopted root is an error naming the file", "[agent][trust_state]") {
    // root-v3.env is not an envelope: the agent refuses to start rather than
    // fall back to an older root.
    Roots roots;
    roots.adopt(2);
    write_text(roots.adopted / "root-v3.env", "not an envelope");
    auto root = load_trust_root(roots.pinned, roots.adopted, kNow);
    REQUIRE_FALSE(root);
    CHECK_THAT(root.error().message(), Catch::StartsWith((roots.adopted / "root-v3.env").string() + ": "));
}

TEST_CASE("trust state: an adopted root with bad signatures is an error naming the file",
          "[agent][trust_state]") {
    // root-v3.env is signed by its own key only, not by v2's root key:
    // untrusted, and the message must say which file to look at.
    Roots roots;
    roots.adopt(2);
    write_bytes(roots.adopted / "root-v3.env", sign_root(make_root(3, 3), {3}));
    auto root = load_trust_root(roots.pinned, roots.adopted, kNow);
    REQUIRE_FALSE(root);
    CHECK(root.error().is(Errc::untrusted));
    CHECK_THAT(root.error().message(), Catch::Contains("keys of trusted v2"));
    CHECK_THAT(root.error().message(), Catch::Contains("root-v3.env"));
}

TEST_CASE("trust state: a bad pinned root is an error naming it", "[agent][trust_state]") {
    // Missing, not an envelope, or not signed by its own root keys.
    Roots roots;
    auto missing = load_trust_root(roots.dir / "nope.env", roots.adopted, kNow);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().is(Errc::not_found));
    CHECK_THAT(missing.error().message(), Catch::Contains((roots.dir / "nope.env").string()));

    write_text(roots.pinned, "garbage");
    auto garbage = load_trust_root(roots.pinned, roots.adopted, kNow);
    REQUIRE_FALSE(garbage);
    CHECK_THAT(garbage.error().message(), Catch::StartsWith(roots.pinned.string() + ": "));

    write_bytes(roots.pinned, sign_root(make_root(1, 1), {9}));
    auto unsigned_root = load_trust_root(roots.pinned, roots.adopted, kNow);
    REQUIRE_FALSE(unsigned_root);
    CHECK(unsigned_root.error().is(Errc::untrusted));
    CHECK_THAT(unsigned_root.error().message(), Catch::StartsWith("pinned trust root " + roots.pinned.string()));
}

TEST_CASE("trust state: an expired pinned root with a valid newer adopted root loads", "[agent][trust_state]") {
    // As in TUF only the last root must be unexpired. Without the newer root
    // the expired pinned one is refused, and so is an expired last root.
    Roots roots(kNow - days(1));
    auto alone = load_trust_root(roots.pinned, roots.adopted, kNow);
    REQUIRE_FALSE(alone);
    CHECK(alone.error().is(Errc::untrusted));
    CHECK_THAT(alone.error().message(), Catch::Contains("expired"));
    CHECK_THAT(alone.error().message(), Catch::Contains(roots.pinned.string()));

    roots.adopt(2);
    auto root = load_trust_root(roots.pinned, roots.adopted, kNow);
    REQUIRE(root);
    CHECK(root->version == 2);

    roots.adopt(3, kNow - hours(1));
    auto stale = load_trust_root(roots.pinned, roots.adopted, kNow);
    REQUIRE_FALSE(stale);
    CHECK(stale.error().is(Errc::untrusted));
    CHECK_THAT(stale.error().message(), Catch::Contains("trust root v3 expired"));
}

TEST_CASE("trust state: a saved adopted root is found on the next load", "[agent][trust_state]") {
    // save_adopted_root writes root-v<N>.env (mode 0600) that load_trust_root walks to.
    Roots roots;
    const auto envelope = sign_root(make_root(2, 2), {1, 2});
    REQUIRE(save_adopted_root(roots.adopted, make_root(2, 2), envelope));
    CHECK(std::filesystem::exists(roots.adopted / "root-v2.env"));
    CHECK((std::filesystem::status(roots.adopted / "root-v2.env").permissions() & std::filesystem::perms::all)
          == (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
    auto root = load_trust_root(roots.pinned, roots.adopted, kNow);
    REQUIRE(root);
    CHECK(root->version == 2);
}

TEST_CASE("trust state: this agent's certificate loads with its bytes", "[agent][trust_state]") {
    // Signed by the enrollment key, for this agent's key, not expired.
    TempDir dir;
    const auto path = dir / "agent.cert";
    const auto bytes = certificate(60).sign(test_key(55)).encode().value();
    write_bytes(path, bytes);
    auto loaded = load_certificate(path, make_root(1, 1), test_key(60).public_key().id(), kNow);
    REQUIRE(loaded);
    CHECK(loaded->certificate == certificate(60));
    CHECK(loaded->envelope == bytes);
}

TEST_CASE("trust state: a certificate for another agent key is refused", "[agent][trust_state]") {
    // A host cannot present another host's certificate.
    TempDir dir;
    const auto path = dir / "agent.cert";
    write_bytes(path, certificate(61).sign(test_key(55)).encode().value());
    const rollout::AgentId mine = test_key(60).public_key().id();
    auto loaded = load_certificate(path, make_root(1, 1), mine, kNow);
    REQUIRE_FALSE(loaded);
    CHECK(loaded.error().is(Errc::untrusted));
    CHECK(loaded.error().message()
          == path.string() + ": the certificate is for agent " + rollout::to_hex(test_key(61).public_key().id())
                 + ", not this agent's identity key " + rollout::to_hex(mine) + " (enroll this host's public key)");
}

TEST_CASE("trust state: an expired or wrongly signed certificate is refused", "[agent][trust_state]") {
    // Errc::untrusted naming the file.
    TempDir dir;
    const auto path = dir / "agent.cert";
    const rollout::AgentId mine = test_key(60).public_key().id();
    write_bytes(path, certificate(60, kNow - seconds(1)).sign(test_key(55)).encode().value());
    auto expired = load_certificate(path, make_root(1, 1), mine, kNow);
    REQUIRE_FALSE(expired);
    CHECK(expired.error().is(Errc::untrusted));
    CHECK_THAT(expired.error().message(), Catch::StartsWith(path.string() + ": "));
    CHECK_THAT(expired.error().message(), Catch::Contains("expired"));

    write_bytes(path, certificate(60).sign(test_key(56)).encode().value());
    auto forged = load_certificate(path, make_root(1, 1), mine, kNow);
    REQUIRE_FALSE(forged);
    CHECK(forged.error().is(Errc::untrusted));
    CHECK_THAT(forged.error().message(), Catch::StartsWith(path.string() + ": "));

    auto missing = load_certificate(dir / "none.cert", make_root(1, 1), mine, kNow);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().is(Errc::not_found));
}
