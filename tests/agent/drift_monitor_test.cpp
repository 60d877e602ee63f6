#include "agent/drift_monitor.hpp"

#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "crypto/content_hash.hpp"
#include "crypto/sha256.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using patchwave::Errc;
using patchwave::Timestamp;
using patchwave::agent::check_drift;
using patchwave::agent::digest_under_root;
using patchwave::agent::merge_baseline;
using patchwave::agent::record_bundle_paths;
using patchwave::agent::record_watched_paths;
using patchwave::agent::TrackedPath;
using patchwave::rollout::BundleId;
using patchwave::rollout::DriftFinding;
using patchwave::testing::TempDir;

const Timestamp kT0{std::chrono::seconds(1'800'000'000)};

BundleId bundle_id(std::uint8_t fill) {
    BundleId id{};
    id.fill(fill);
    return id;
}

void write(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

std::string hex_of(const std::string& text) {
    return patchwave::crypto::digest_hex(patchwave::crypto::sha256(text));
}

// A system root holding /etc/app.conf and an /opt/app directory, baselined by bundle 0x11.
struct Host {
    TempDir root;
    std::vector<std::string> paths{"/etc/app.conf", "/opt/app"};
    std::vector<TrackedPath> baseline;

    Host() {
        write(root / "etc/app.conf", "port = 80\n");
        write(root / "opt/app/bin/tool", "#!/bin/sh\n");
        auto recorded = record_bundle_paths(root.path(), bundle_id(0x11), paths, kT0);
        REQUIRE(recorded);
        baseline = *recorded;
    }

    std::vector<DriftFinding> check(std::span<const DriftFinding> previous, Timestamp now) {
        auto findings = check_drift(root.path(), baseline, previous, now);
        REQUIRE(findings);
        return *findings;
    }
};

}  // namespace

TEST_CASE("drift baseline hashes file content and directory trees", "[agent][drift]") {
    Host host;
    REQUIRE(host.baseline.size() == 2);
    const auto& file = host.baseline[0];
    CHECK(file.path == "/etc/app.conf");
    CHECK(file.digest == hex_of("port = 80\n"));  // content only
    CHECK(file.bundle == bundle_id(0x11));
    CHECK(file.recorded == kT0);
    const auto& tree = host.baseline[1];
    CHECK(tree.path == "/opt/app");
    auto expected_tree = patchwave::crypto::hash_path(host.root / "opt/app");
    REQUIRE(expected_tree);
    CHECK(tree.digest == patchwave::crypto::digest_hex(*expected_tree));
}

TEST_CASE("drift check finds nothing when nothing changed", "[agent][drift]") {
    Host host;
    CHECK(host.check({}, kT0 + 60s).empty());
}

TEST_CASE("drift check reports an edited file with expected and actual digests", "[agent][drift]") {
    Host host;
    write(host.root / "etc/app.conf", "port = 8080\n");
    const auto findings = host.check({}, kT0 + 60s);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].path == "/etc/app.conf");
    CHECK(findings[0].expected == hex_of("port = 80\n"));
    CHECK(findings[0].actual == hex_of("port = 8080\n"));
    CHECK(findings[0].bundle == bundle_id(0x11));
    CHECK(findings[0].detected == kT0 + 60s);
}

TEST_CASE("drift check reports a change inside a watched directory", "[agent][drift]") {
    Host host;
    write(host.root / "opt/app/bin/extra", "dropped in\n");
    const auto findings = host.check({}, kT0 + 60s);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].path == "/opt/app");
}

TEST_CASE("drift check reports a deleted path as absent", "[agent][drift]") {
    Host host;
    fs::remove(host.root / "etc/app.conf");
    const auto findings = host.check({}, kT0 + 60s);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].expected == hex_of("port = 80\n"));
    CHECK(findings[0].actual == "absent");
}

TEST_CASE("drift check reports a path created where the baseline had none", "[agent][drift]") {
    TempDir root;
    const std::vector<std::string> paths{"/etc/cron.d/backdoor"};
    auto baseline = record_watched_paths(root.path(), paths, kT0);
    REQUIRE(baseline);
    REQUIRE(baseline->size() == 1);
    CHECK_FALSE((*baseline)[0].digest.has_value());
    CHECK_FALSE((*baseline)[0].bundle.has_value());
    auto clean = check_drift(root.path(), *baseline, {}, kT0 + 1s);
    REQUIRE(clean);
    CHECK(clean->empty());

    write(root / "etc/cron.d/backdoor", "* * * * * root sh\n");
    auto findings = check_drift(root.path(), *baseline, {}, kT0 + 60s);
    REQUIRE(findings);
    REQUIRE(findings->size() == 1);
    CHECK((*findings)[0].expected == "absent");
    CHECK((*findings)[0].actual == hex_of("* * * * * root sh\n"));
    CHECK_FALSE((*findings)[0].bundle.has_value());
}

TEST_CASE("drift finding disappears when the content is restored", "[agent][drift]") {
    Host host;
    write(host.root / "etc/app.conf", "port = 8080\n");
    const auto first = host.check({}, kT0 + 60s);
    REQUIRE(first.size() == 1);
    write(host.root / "etc/app.conf", "port = 80\n");
    CHECK(host.check(first, kT0 + 120s).empty());
}

TEST_CASE("drift finding keeps its first detection time across checks", "[agent][drift]") {
    Host host;
    write(host.root / "etc/app.conf", "port = 8080\n");
    const auto first = host.check({}, kT0 + 60s);
    REQUIRE(first.size() == 1);
    const auto second = host.check(first, kT0 + 120s);
    REQUIRE(second.size() == 1);
    CHECK(second[0].detected == kT0 + 60s);
    // Edited again: still the same drift, which began at the first detection.
    write(host.root / "etc/app.conf", "port = 9090\n");
    const auto third = host.check(second, kT0 + 180s);
    REQUIRE(third.size() == 1);
    CHECK(third[0].actual == hex_of("port = 9090\n"));
    CHECK(third[0].detected == kT0 + 60s);
    // Once it is gone and comes back it is a new finding.
    write(host.root / "etc/app.conf", "port = 80\n");
    const auto fourth = host.check(third, kT0 + 240s);
    CHECK(fourth.empty());
    write(host.root / "etc/app.conf", "port = 1\n");
    const auto fifth = host.check(fourth, kT0 + 300s);
    REQUIRE(fifth.size() == 1);
    CHECK(fifth[0].detected == kT0 + 300s);
}

TEST_CASE("a later bundle re-baselines the paths it declares", "[agent][drift]") {
    Host host;
    write(host.root / "etc/app.conf", "port = 8080\n");
    const auto before = host.check({}, kT0 + 60s);
    REQUIRE(before.size() == 1);

    // Bundle 0x22 is approved and declares /etc/app.conf: its content becomes the expectation.
    const std::vector<std::string> declared{"/etc/app.conf"};
    auto update = record_bundle_paths(host.root.path(), bundle_id(0x22), declared, kT0 + 90s);
    REQUIRE(update);
    merge_baseline(host.baseline, *update);
    REQUIRE(host.baseline.size() == 2);
    CHECK(host.baseline[0].path == "/etc/app.conf");
    CHECK(host.baseline[0].bundle == bundle_id(0x22));
    CHECK(host.baseline[0].digest == hex_of("port = 8080\n"));
    CHECK(host.baseline[0].recorded == kT0 + 90s);
    CHECK(host.baseline[1].bundle == bundle_id(0x11));
    CHECK(host.check(before, kT0 + 120s).empty());

    // A later edit is judged against, and blamed on, the new expectation, with a fresh detection time.
    write(host.root / "etc/app.conf", "port = 1\n");
    const auto after = host.check(before, kT0 + 180s);
    REQUIRE(after.size() == 1);
    CHECK(after[0].expected == hex_of("port = 8080\n"));
    CHECK(after[0].bundle == bundle_id(0x22));
    CHECK(after[0].detected == kT0 + 180s);
}

TEST_CASE("merge_baseline adds new paths and keeps the baseline sorted", "[agent][drift]") {
    std::vector<TrackedPath> baseline{{"/b", "bb", std::nullopt, kT0}, {"/d", std::nullopt, bundle_id(1), kT0}};
    const std::vector<TrackedPath> updates{{"/c", "cc", bundle_id(2), kT0 + 1s}, {"/b", "b2", bundle_id(2), kT0 + 1s}};
    merge_baseline(baseline, updates);
    REQUIRE(baseline.size() == 3);
    CHECK(baseline[0] == updates[1]);
    CHECK(baseline[1] == updates[0]);
    CHECK(baseline[2].path == "/d");
}

TEST_CASE("drift paths may not escape the system root with dot-dot", "[agent][drift]") {
    TempDir root;
    write(root / "etc/app.conf", "x");
    for (const char* path : {"/../etc/passwd", "/etc/../../etc/passwd", "/etc/..", "etc/app.conf", "", "/"}) {
        INFO(path);
        auto digest = digest_under_root(root.path(), path);
        REQUIRE_FALSE(digest);
        CHECK(digest.error().is(Errc::invalid_argument));
    }
    const std::vector<std::string> declared{"/etc/app.conf", "/etc/../../etc/shadow"};
    auto recorded = record_bundle_paths(root.path(), bundle_id(3), declared, kT0);
    REQUIRE_FALSE(recorded);
    CHECK(recorded.error().is(Errc::invalid_argument));
    CHECK(recorded.error().message().find("/etc/../../etc/shadow") != std::string::npos);
}

TEST_CASE("drift follows symlinks as if chrooted into the system root", "[agent][drift]") {
    TempDir root;
    write(root / "etc/real.conf", "inside\n");
    write(root / "usr/share/zoneinfo/UTC", "zone\n");
    fs::create_symlink("real.conf", root / "etc/relative.conf");
    fs::create_symlink("/usr/share/zoneinfo/UTC", root / "etc/localtime");  // absolute: starts at the root
    fs::create_symlink("../../../../../../../../etc/real.conf", root / "etc/climb.conf");  // stops at the root
    fs::create_symlink("/etc/hostname-missing", root / "etc/dangling");
    fs::create_symlink("loop-b", root / "etc/loop-a");
    fs::create_symlink("loop-a", root / "etc/loop-b");

    CHECK(digest_under_root(root.path(), "/etc/relative.conf") == hex_of("inside\n"));
    CHECK(digest_under_root(root.path(), "/etc/localtime") == hex_of("zone\n"));
    CHECK(digest_under_root(root.path(), "/etc/climb.conf") == hex_of("inside\n"));
    auto dangling = digest_under_root(root.path(), "/etc/dangling");
    REQUIRE(dangling);
    CHECK_FALSE(dangling->has_value());
    auto through_file = digest_under_root(root.path(), "/etc/real.conf/x");
    REQUIRE(through_file);
    CHECK_FALSE(through_file->has_value());
    auto loop = digest_under_root(root.path(), "/etc/loop-a");
    REQUIRE_FALSE(loop);
    CHECK(loop.error().is(Errc::io));
}

TEST_CASE("drift reports unreadable paths as problems and keeps checking the rest", "[agent][drift]") {
    Host host;
    write(host.root / "etc/app.conf", "edited\n");
    write(host.root / "etc/watched", "w");
    const std::vector<std::string> watched{"/etc/watched"};
    auto recorded = record_watched_paths(host.root.path(), watched, kT0);
    REQUIRE(recorded);
    merge_baseline(host.baseline, *recorded);
    // A symlink loop cannot be read even by root (unlike a chmod 000 file).
    fs::remove(host.root / "etc/watched");
    fs::create_symlink("watched-loop", host.root / "etc/watched");
    fs::create_symlink("watched", host.root / "etc/watched-loop");

    const std::vector<DriftFinding> previous{{"/etc/watched", hex_of("w"), hex_of("x"), std::nullopt, kT0 + 30s}};
    std::vector<patchwave::Error> problems;
    auto findings = check_drift(host.root.path(), host.baseline, previous, kT0 + 60s, &problems);
    REQUIRE(findings);
    REQUIRE(findings->size() == 2);
    CHECK((*findings)[0].path == "/etc/app.conf");
    CHECK((*findings)[1] == previous[0]);  // carried over unchanged, so it does not flap
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].is(Errc::io));
    CHECK(problems[0].message().find("/etc/watched") != std::string::npos);
}

TEST_CASE("drift findings are capped at the status record limit", "[agent][drift]") {
    TempDir root;
    constexpr std::size_t kPaths = patchwave::rollout::StatusRecord::kMaxDriftFindings + 10;
    std::vector<std::string> paths;
    for (std::size_t i = 0; i < kPaths; ++i)
        paths.push_back("/watched/f" + std::to_string(i));
    auto baseline = record_watched_paths(root.path(), paths, kT0);
    REQUIRE(baseline);
    for (const auto& path : paths)
        write(root.path() / path.substr(1), "created");
    auto findings = check_drift(root.path(), *baseline, {}, kT0 + 1s);
    REQUIRE(findings);
    CHECK(findings->size() == patchwave::rollout::StatusRecord::kMaxDriftFindings);
    CHECK(std::is_sorted(findings->begin(), findings->end(),
                         [](const auto& a, const auto& b) { return a.path < b.path; }));
}

TEST_CASE("drift check fails when the system root is missing", "[agent][drift]") {
    TempDir root;
    auto findings = check_drift(root / "missing", {}, {}, kT0);
    REQUIRE_FALSE(findings);
    CHECK(findings.error().is(Errc::io));
}
