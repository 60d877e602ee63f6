#include <catch2/catch.hpp>

#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file_io.hpp"
#include "crypto/key_file.hpp"
#include "net/bundle_torrent.hpp"
#include "orchestrator/catalog.hpp"
#include "orchestrator/trust_store.hpp"
#include "rollout/approval.hpp"
#include "support/temp_dir.hpp"

using namespace patchwave;
using namespace patchwave::orchestrator;
namespace fs = std::filesystem;

namespace {

const Timestamp kNow = parse_timestamp("2026-11-20T10:00:00Z").value();

const std::string kToml = R"(name = "openssl-cve-2026-1234"
version = "3.0.22-1"
priority = "critical"
category = "security"
description = "Fixes CVE-2026-1234"
reboot = "required"
paths = ["/etc/ssl/openssl.cnf"]
install  = { command = "./install.sh",  timeout = "10m" }
verify   = { command = "./verify.sh",   timeout = "2m" }
)";

void write(const fs::path& path, const std::string& text, mode_t mode = 0644) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
    REQUIRE(::chmod(path.c_str(), mode) == 0);
}

// A bundle directory: bundle.toml, an executable install script, payload.
fs::path make_bundle_dir(const fs::path& dir, const std::string& payload = "payload bytes\n",
                         const std::string& toml = kToml) {
    write(dir / "bundle.toml", toml);
    write(dir / "install.sh", "#!/bin/sh\ncp data/libssl.so.3 \"$PATCHWAVE_ROOT/usr/lib/\"\n", 0755);
    write(dir / "data" / "libssl.so.3", payload);
    return dir;
}

struct TestHome {
    testing::TempDir dir;
    fs::path path = dir / "home";
    std::optional<Home> home;

    TestHome() {
        InitOptions options;
        options.approvers = 3;
        options.threshold = 2;
        options.emergency_threshold = 1;
        options.now = kNow;
        REQUIRE(Home::init(path, options));
        auto opened = Home::open(path, LockMode::exclusive);
        REQUIRE(opened);
        home.emplace(std::move(*opened));
    }
    Database& db() { return home->db(); }
    crypto::TrustRoot root() { return latest_root(db()).value().root; }
    crypto::PrivateKey key(const std::string& name) { return crypto::load_private_key(path / "keys" / name).value(); }
    bool tmp_empty() const { return fs::is_empty(path / "tmp"); }
};

std::size_t entries(const fs::path& dir) {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

// Adds a catalog row with a chosen id, for prefixes no real hash would share.
void insert_fake_bundle(Database& db, const std::string& id_hex, const std::string& name) {
    auto insert = db.prepare(
        "INSERT INTO bundles (id, name, version, priority, category, description, reboot, metadata_digest, "
        "bundle_toml, triage, total_bytes, file_count, created) VALUES (?, ?, '1', 'normal', 'bugfix', '', 'none', "
        "'00', ?, 'proceed', 1, 1, '2026-11-20T10:00:00Z')");
    REQUIRE(insert);
    insert->bind(1, id_hex).bind(2, name).bind_blob(3, kToml);
    REQUIRE(insert->run());
}

}  // namespace

TEST_CASE("bundle create stores the content, the torrent and a catalog row", "[orchestrator]") {
    // The stored copy hashes to the id, keeps the executable bit, and every field lands in the record.
    TestHome home;
    const fs::path dir = make_bundle_dir(home.dir / "src");
    auto created = create_bundle(*home.home, dir, kNow);
    REQUIRE(created);
    CHECK_FALSE(created->already_present);
    const BundleRecord& bundle = created->bundle;
    CHECK(bundle.meta.name == "openssl-cve-2026-1234");
    CHECK(bundle.meta.priority == rollout::Priority::critical);
    CHECK(bundle.bundle_toml == kToml);
    CHECK(bundle.metadata_digest == rollout::metadata_digest(kToml));
    CHECK(bundle.file_count == 3);
    CHECK(bundle.created == kNow);
    CHECK(bundle.triage == rollout::TriageStatus::proceed);

    const fs::path content = bundle_content_dir(*home.home, bundle.id);
    CHECK(net::verify_bundle_directory(content, bundle.id));
    CHECK((fs::status(content / "install.sh").permissions() & fs::perms::owner_exec) != fs::perms::none);
    CHECK((fs::status(content / "data" / "libssl.so.3").permissions() & fs::perms::owner_exec) == fs::perms::none);
    auto torrent = read_file(bundle_torrent_file(*home.home, bundle.id), 1 << 20);
    REQUIRE(torrent);
    CHECK(net::parse_bundle_torrent(*torrent).value().id == bundle.id);
    CHECK(net::build_bundle_torrent(dir).value().id == bundle.id);
    CHECK(home.tmp_empty());

    auto stored = get_bundle(home.db(), bundle.id);
    REQUIRE(stored);
    CHECK(stored->meta == bundle.meta);
    CHECK(stored->total_bytes == bundle.total_bytes);
    CHECK(list_bundles(home.db()).value().size() == 1);
}

TEST_CASE("re-creating the same content gives the same id and changes nothing", "[orchestrator]") {
    // A second create, even from a directory with another name, reports already_present and adds no row.
    TestHome home;
    auto first = create_bundle(*home.home, make_bundle_dir(home.dir / "one"), kNow);
    REQUIRE(first);
    auto second = create_bundle(*home.home, make_bundle_dir(home.dir / "elsewhere"), kNow + std::chrono::hours(1));
    REQUIRE(second);
    CHECK(second->already_present);
    CHECK(second->bundle.id == first->bundle.id);
    CHECK(second->bundle.created == kNow);
    CHECK(list_bundles(home.db()).value().size() == 1);
    CHECK(entries(home.home->bundles_dir()) == 1);
    CHECK(home.tmp_empty());

    auto different = create_bundle(*home.home, make_bundle_dir(home.dir / "two", "other bytes\n"), kNow);
    REQUIRE(different);
    CHECK_FALSE(different->already_present);
    CHECK(different->bundle.id != first->bundle.id);
    auto listed = list_bundles(home.db()).value();
    REQUIRE(listed.size() == 2);
}

TEST_CASE("bundle list is newest first", "[orchestrator]") {
    // The bundle created later comes first.
    TestHome home;
    auto older = create_bundle(*home.home, make_bundle_dir(home.dir / "a", "a\n"), kNow).value();
    auto newer = create_bundle(*home.home, make_bundle_dir(home.dir / "b", "b\n"), kNow + std::chrono::minutes(5)).value();
    auto listed = list_bundles(home.db()).value();
    REQUIRE(listed.size() == 2);
    CHECK(listed[0].id == newer.bundle.id);
    CHECK(listed[1].id == older.bundle.id);
}

TEST_CASE("bundle create reports progress over the copy and the hashing", "[orchestrator]") {
    // Progress never goes back, and ends at twice the payload size.
    TestHome home;
    const fs::path dir = make_bundle_dir(home.dir / "src", std::string(3 << 20, 'x'));
    std::uint64_t last = 0, last_total = 0;
    int calls = 0;
    bool monotonic = true;
    auto created = create_bundle(*home.home, dir, kNow, [&](std::uint64_t done, std::uint64_t total) {
        monotonic = monotonic && done >= last && done <= total;
        last = done;
        last_total = total;
        ++calls;
    });
    REQUIRE(created);
    CHECK(calls >= 2);
    CHECK(monotonic);
    CHECK(last_total == 2 * created->bundle.total_bytes);
    CHECK(last == last_total);
}

TEST_CASE("a cancelled bundle create leaves nothing behind", "[orchestrator]") {
    // With the cancel flag set, create fails with Errc::state and tmp/ and bundles/ stay empty.
    TestHome home;
    const std::atomic<bool> cancel{true};
    auto created = create_bundle(*home.home, make_bundle_dir(home.dir / "src"), kNow, {}, &cancel);
    REQUIRE_FALSE(created);
    CHECK(created.error().is(Errc::state));
    CHECK(home.tmp_empty());
    CHECK(fs::is_empty(home.home->bundles_dir()));
    CHECK(list_bundles(home.db()).value().empty());
}

TEST_CASE("bundle create replaces a directory a crash left without a catalog row", "[orchestrator]") {
    // bundles/<id> from a crash between rename and commit is replaced by the real bundle.
    TestHome home;
    const fs::path dir = make_bundle_dir(home.dir / "src");
    const auto id = net::build_bundle_torrent(dir).value().id;
    write(home.home->bundles_dir() / rollout::to_hex(id) / "bundle" / "half-written", "junk");
    auto created = create_bundle(*home.home, dir, kNow);
    REQUIRE(created);
    CHECK_FALSE(created->already_present);
    CHECK(created->bundle.id == id);
    CHECK_FALSE(fs::exists(bundle_content_dir(*home.home, id) / "half-written"));
    CHECK(net::verify_bundle_directory(bundle_content_dir(*home.home, id), id));
}

TEST_CASE("a bad bundle.toml is refused with its file and line", "[orchestrator]") {
    // The error names DIR/bundle.toml and the line, is Errc::parse, and nothing is stored.
    TestHome home;
    const fs::path dir = make_bundle_dir(home.dir / "src", "x",
                                         "name = \"fix\"\nversion = \"1\"\npriority = \"urgent\"\n"
                                         "install = { command = \"./i.sh\" }\n");
    auto created = create_bundle(*home.home, dir, kNow);
    REQUIRE_FALSE(created);
    CHECK(created.error().is(Errc::parse));
    CHECK_THAT(created.error().message(), Catch::StartsWith((dir / "bundle.toml").string() + ":3:"));
    CHECK_THAT(created.error().message(), Catch::Contains("urgent"));
    CHECK(home.tmp_empty());
    CHECK(fs::is_empty(home.home->bundles_dir()));
}

TEST_CASE("a directory without bundle.toml, or no directory, is refused", "[orchestrator]") {
    // Missing bundle.toml and a missing directory are Errc::not_found naming the path.
    TestHome home;
    write(home.dir / "src" / "payload", "x");
    auto no_toml = create_bundle(*home.home, home.dir / "src", kNow);
    REQUIRE_FALSE(no_toml);
    CHECK(no_toml.error().is(Errc::not_found));
    CHECK_THAT(no_toml.error().message(), Catch::StartsWith((home.dir / "src" / "bundle.toml").string()));
    auto no_dir = create_bundle(*home.home, home.dir / "nowhere", kNow);
    REQUIRE_FALSE(no_dir);
    CHECK(no_dir.error().is(Errc::not_found));
    CHECK_THAT(no_dir.error().message(), Catch::Contains("nowhere"));
}

TEST_CASE("symlinks leaving the bundle directory or absolute are refused", "[orchestrator]") {
    // A relative link to outside DIR and an absolute link (even into DIR) are invalid_argument naming the link.
    TestHome home;
    const fs::path dir = make_bundle_dir(home.dir / "src");
    write(home.dir / "secret.txt", "secret");
    fs::create_symlink("../../secret.txt", dir / "data" / "escape");
    auto escaping = create_bundle(*home.home, dir, kNow);
    REQUIRE_FALSE(escaping);
    CHECK(escaping.error().is(Errc::invalid_argument));
    CHECK(escaping.error().message() ==
          (dir / "data" / "escape").string() + ": symlink to ../../secret.txt leaves the bundle directory");
    fs::remove(dir / "data" / "escape");

    fs::create_symlink(fs::absolute(dir / "install.sh"), dir / "absolute");
    auto absolute = create_bundle(*home.home, dir, kNow);
    REQUIRE_FALSE(absolute);
    CHECK(absolute.error().is(Errc::invalid_argument));
    CHECK_THAT(absolute.error().message(),
               Catch::StartsWith((dir / "absolute").string() + ": absolute symlink"));
    CHECK(home.tmp_empty());
    CHECK(fs::is_empty(home.home->bundles_dir()));
}

TEST_CASE("a relative symlink inside the bundle is stored as a copy of its file", "[orchestrator]") {
    // The link is accepted, stored as a regular file, and the id is the one the torrent builder gives DIR.
    TestHome home;
    const fs::path dir = make_bundle_dir(home.dir / "src");
    fs::create_symlink("data/libssl.so.3", dir / "libssl.so");
    auto created = create_bundle(*home.home, dir, kNow);
    REQUIRE(created);
    const fs::path stored = bundle_content_dir(*home.home, created->bundle.id) / "libssl.so";
    CHECK(fs::is_regular_file(fs::symlink_status(stored)));
    CHECK(read_file(stored, 1024).value() == "payload bytes\n");
    CHECK(created->bundle.id == net::build_bundle_torrent(dir).value().id);
}

TEST_CASE("special files in a bundle are refused", "[orchestrator]") {
    // A fifo is invalid_argument naming it, and nothing is stored.
    TestHome home;
    const fs::path dir = make_bundle_dir(home.dir / "src");
    REQUIRE(::mkfifo((dir / "data" / "pipe").c_str(), 0644) == 0);
    auto created = create_bundle(*home.home, dir, kNow);
    REQUIRE_FALSE(created);
    CHECK(created.error().is(Errc::invalid_argument));
    CHECK_THAT(created.error().message(), Catch::StartsWith((dir / "data" / "pipe").string() + ": not a regular file"));
    CHECK(home.tmp_empty());
    CHECK(fs::is_empty(home.home->bundles_dir()));
}

TEST_CASE("bundle ids resolve from a full id or a unique prefix of 8+ hex characters", "[orchestrator]") {
    // Full id, upper case and prefixes resolve; short, unknown, non-hex and ambiguous prefixes are refused.
    TestHome home;
    const auto id = create_bundle(*home.home, make_bundle_dir(home.dir / "src"), kNow).value().bundle.id;
    const std::string hex = rollout::to_hex(id);
    CHECK(resolve_bundle(home.db(), hex).value() == id);
    CHECK(resolve_bundle(home.db(), hex.substr(0, 8)).value() == id);
    std::string upper = hex.substr(0, 10);
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    CHECK(resolve_bundle(home.db(), upper).value() == id);

    auto short_prefix = resolve_bundle(home.db(), hex.substr(0, 7));
    REQUIRE_FALSE(short_prefix);
    CHECK(short_prefix.error().is(Errc::invalid_argument));
    CHECK(short_prefix.error().message() ==
          "bundle id prefix \"" + hex.substr(0, 7) + "\" is too short (8+ hex characters)");

    const std::string unknown = hex[0] == '0' ? "11111111" : "00000000";
    auto missing = resolve_bundle(home.db(), unknown);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().is(Errc::not_found));
    CHECK(missing.error().message() == "no bundle matches \"" + unknown + "\"");

    auto not_hex = resolve_bundle(home.db(), "openssl-fix");
    REQUIRE_FALSE(not_hex);
    CHECK(not_hex.error().is(Errc::invalid_argument));

    insert_fake_bundle(home.db(), "abcdef01" + std::string(56, '1'), "first");
    insert_fake_bundle(home.db(), "abcdef01" + std::string(56, '2'), "second");
    auto ambiguous = resolve_bundle(home.db(), "abcdef01");
    REQUIRE_FALSE(ambiguous);
    CHECK(ambiguous.error().is(Errc::invalid_argument));
    CHECK_THAT(ambiguous.error().message(), Catch::StartsWith("bundle id prefix \"abcdef01\" is ambiguous"));
    CHECK_THAT(ambiguous.error().message(), Catch::Contains("abcdef011111 (first 1)"));
    CHECK_THAT(ambiguous.error().message(), Catch::Contains("abcdef012222 (second 1)"));
    CHECK(resolve_bundle(home.db(), "abcdef012").value() == rollout::parse_bundle_id("abcdef01" + std::string(56, '2')).value());
}

TEST_CASE("triage sets the status and, when given, the priority", "[orchestrator]") {
    // hold + critical->low is stored; a later status change without priority keeps it; unknown ids are not_found.
    TestHome home;
    const auto id = create_bundle(*home.home, make_bundle_dir(home.dir / "src"), kNow).value().bundle.id;
    REQUIRE(set_triage(home.db(), id, rollout::TriageStatus::hold, rollout::Priority::low));
    auto held = get_bundle(home.db(), id).value();
    CHECK(held.triage == rollout::TriageStatus::hold);
    CHECK(held.meta.priority == rollout::Priority::low);
    REQUIRE(set_triage(home.db(), id, rollout::TriageStatus::cancelled, std::nullopt));
    auto cancelled = get_bundle(home.db(), id).value();
    CHECK(cancelled.triage == rollout::TriageStatus::cancelled);
    CHECK(cancelled.meta.priority == rollout::Priority::low);

    rollout::BundleId other = id;
    other[0] ^= 0xff;
    auto missing = set_triage(home.db(), other, rollout::TriageStatus::proceed, std::nullopt);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().is(Errc::not_found));
}

TEST_CASE("approvals are signed, stored, and counted once per approver", "[orchestrator]") {
    // Two approvers make 2 valid approvals; the same approver again replaces its first approval.
    TestHome home;
    const auto id = create_bundle(*home.home, make_bundle_dir(home.dir / "src"), kNow).value().bundle.id;
    const auto root = home.root();
    const auto first_key = home.key("approver-1.key");
    auto first = approve_bundle(home.db(), id, first_key, "CHG-1", "looks good", root, kNow);
    REQUIRE(first);
    CHECK(first->approver == first_key.public_key());
    CHECK(rollout::verify_approval(first->envelope, root, id, rollout::metadata_digest(kToml)).value() ==
          first_key.public_key());
    REQUIRE(approve_bundle(home.db(), id, home.key("approver-2.key"), "CHG-1", "", root, kNow));

    auto count = [&] {
        auto bundle = get_bundle(home.db(), id).value();
        std::vector<crypto::Envelope> envelopes;
        for (const auto& approval : bundle.approvals) envelopes.push_back(approval.envelope);
        return std::pair(bundle.approvals.size(),
                         rollout::count_approvals(envelopes, root, id, bundle.metadata_digest).size());
    };
    CHECK(count() == std::pair<std::size_t, std::size_t>(2, 2));

    REQUIRE(approve_bundle(home.db(), id, first_key, "CHG-2", "second look", root, kNow + std::chrono::hours(1)));
    CHECK(count() == std::pair<std::size_t, std::size_t>(2, 2));
    auto bundle = get_bundle(home.db(), id).value();
    CHECK(bundle.approvals.back().approver == first_key.public_key());
    CHECK(bundle.approvals.back().change_ref == "CHG-2");
    CHECK(bundle.approvals.back().note == "second look");
    CHECK(bundle.approvals.back().approved_at == kNow + std::chrono::hours(1));
}

TEST_CASE("a key that is not an approver cannot approve", "[orchestrator]") {
    // A random key and the release key are refused with Errc::untrusted, and nothing is stored.
    TestHome home;
    const auto id = create_bundle(*home.home, make_bundle_dir(home.dir / "src"), kNow).value().bundle.id;
    const auto root = home.root();
    const auto stranger = crypto::PrivateKey::generate();
    auto refused = approve_bundle(home.db(), id, stranger, "CHG-1", "", root, kNow);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().is(Errc::untrusted));
    CHECK(refused.error().message() == "key " + stranger.public_key().to_text() +
                                           " is not an approver in trust root v1 (which lists 3 approver keys)");
    auto release = approve_bundle(home.db(), id, home.key("release.key"), "CHG-1", "", root, kNow);
    REQUIRE_FALSE(release);
    CHECK(release.error().is(Errc::untrusted));
    CHECK(get_bundle(home.db(), id).value().approvals.empty());
}

TEST_CASE("an approval needs a change reference and clean text", "[orchestrator]") {
    // Empty change refs, control characters and invalid UTF-8 are invalid_argument; unknown bundles not_found.
    TestHome home;
    const auto id = create_bundle(*home.home, make_bundle_dir(home.dir / "src"), kNow).value().bundle.id;
    const auto root = home.root();
    const auto key = home.key("approver-1.key");
    auto empty = approve_bundle(home.db(), id, key, "", "", root, kNow);
    REQUIRE_FALSE(empty);
    CHECK(empty.error().is(Errc::invalid_argument));
    CHECK_THAT(empty.error().message(), Catch::Contains("change-order reference"));
    CHECK(approve_bundle(home.db(), id, key, "CHG\x01", "", root, kNow).error().is(Errc::invalid_argument));
    CHECK(approve_bundle(home.db(), id, key, "CHG-1", "bad \xff utf-8", root, kNow).error().is(Errc::invalid_argument));
    CHECK(approve_bundle(home.db(), id, key, std::string(200, 'c'), "", root, kNow).error().is(Errc::invalid_argument));
    CHECK(approve_bundle(home.db(), id, key, "CHG-1", "multi\nline\tnote é", root, kNow));

    rollout::BundleId other = id;
    other[0] ^= 0xff;
    auto missing = approve_bundle(home.db(), other, key, "CHG-1", "", root, kNow);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().is(Errc::not_found));
}
