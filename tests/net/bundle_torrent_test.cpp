#include "net/bundle_torrent.hpp"

#include <atomic>
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "support/temp_dir.hpp"
#include "swarm_harness.hpp"

using namespace patchwave;
using namespace patchwave::testing;
namespace fs = std::filesystem;

namespace {

void append(const fs::path& path, std::string_view text) {
    std::ofstream(path, std::ios::binary | std::ios::app) << text;
}

}  // namespace

TEST_CASE("the same files give the same id whatever the directory is called", "[net]") {
    // Directory name, creation order and timestamps do not enter the id.
    TempDir dir;
    make_bundle(dir / "release-1", 300'000, 7);
    fs::create_directories(dir / "copy");
    // Create the copy's files in reverse order, some time later.
    fs::copy(dir / "release-1" / "scripts", dir / "copy" / "scripts", fs::copy_options::recursive);
    fs::copy(dir / "release-1" / "payload", dir / "copy" / "payload", fs::copy_options::recursive);
    fs::copy(dir / "release-1" / "bundle.toml", dir / "copy" / "bundle.toml");
    fs::last_write_time(dir / "copy" / "bundle.toml", fs::file_time_type::clock::now() - std::chrono::hours(48));

    auto first = net::build_bundle_torrent(dir / "release-1");
    auto second = net::build_bundle_torrent(dir / "copy");
    REQUIRE(first);
    REQUIRE(second);
    CHECK(first->id == second->id);
    CHECK(first->torrent == second->torrent);
    CHECK(first->file_count == 4);
    CHECK(first->total_bytes == 300'000);
    // Nothing time- or tool-dependent in the file.
    CHECK(first->torrent.find("creation date") == std::string::npos);
    CHECK(first->torrent.find("created by") == std::string::npos);
    CHECK(first->torrent.find("release-1") == std::string::npos);
}

TEST_CASE("any change to the files changes the id", "[net]") {
    // A flipped byte, an extra file and a renamed file each give a new id.
    TempDir dir;
    make_bundle(dir / "b", 100'000, 3);
    const auto original = net::build_bundle_torrent(dir / "b").value().id;

    append(dir / "b" / "payload" / "lib" / "small.so", "x");
    const auto appended = net::build_bundle_torrent(dir / "b").value().id;
    CHECK(appended != original);

    write_random_file(dir / "b" / "extra.txt", 10, 9);
    const auto extra = net::build_bundle_torrent(dir / "b").value().id;
    CHECK(extra != appended);

    fs::rename(dir / "b" / "extra.txt", dir / "b" / "other.txt");
    CHECK(net::build_bundle_torrent(dir / "b").value().id != extra);
}

TEST_CASE("bundle torrents are v2-only with the documented piece size", "[net]") {
    // No v1 piece hashes; the piece size follows piece_size_for.
    TempDir dir;
    make_bundle(dir / "b", 2'000'000);
    auto built = net::build_bundle_torrent(dir / "b");
    REQUIRE(built);
    CHECK(built->torrent.find("6:pieces") == std::string::npos);
    CHECK(built->torrent.find("12:piece layers") != std::string::npos);
    CHECK(built->torrent.find("12:meta versioni2e") != std::string::npos);
    CHECK(built->piece_size == net::piece_size_for(2'000'000));
    auto parsed = net::parse_bundle_torrent(built->torrent);
    REQUIRE(parsed);
    CHECK(parsed->id == built->id);
    CHECK(parsed->total_bytes == 2'000'000);

    CHECK(net::piece_size_for(1) == 16 * 1024);
    CHECK(net::piece_size_for(16'000'000) == 16 * 1024);
    CHECK(net::piece_size_for(64 * 1024 * 1024) == 64 * 1024);
    CHECK(net::piece_size_for(1024ull * 1024 * 1024) == 1024 * 1024);
    CHECK(net::piece_size_for(100ull * 1024 * 1024 * 1024) == 4 * 1024 * 1024);
}

TEST_CASE("garbage is not a bundle torrent", "[net]") {
    // parse_bundle_torrent reports Errc::parse for bytes that are no torrent.
    auto parsed = net::parse_bundle_torrent("d4:infoi3ee");
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().is(Errc::parse));
}

TEST_CASE("a single-file directory builds a bundle of that one file", "[net]") {
    // One file is still a bundle; the directory verifies against its id.
    TempDir dir;
    write_random_file(dir / "one" / "only.bin", 50'000, 5);
    auto built = net::build_bundle_torrent(dir / "one");
    REQUIRE(built);
    CHECK(built->file_count == 1);
    CHECK(built->total_bytes == 50'000);
    CHECK(net::verify_bundle_directory(dir / "one", built->id));
    // The same file in a differently named directory has the same id.
    write_random_file(dir / "two" / "only.bin", 50'000, 5);
    CHECK(net::build_bundle_torrent(dir / "two").value().id == built->id);
}

TEST_CASE("symlinks that leave the bundle directory are refused", "[net]") {
    // A link out of the directory is invalid_argument naming the link;
    // a link to a file inside counts as that file's content.
    TempDir dir;
    make_bundle(dir / "b", 10'000);
    write_random_file(dir / "outside.txt", 100, 2);
    fs::create_symlink(dir / "outside.txt", dir / "b" / "escape");
    auto refused = net::build_bundle_torrent(dir / "b");
    REQUIRE_FALSE(refused);
    CHECK(refused.error().is(Errc::invalid_argument));
    CHECK_THAT(refused.error().message(), Catch::Contains("escape") && Catch::Contains("leaves the bundle directory"));

    fs::remove(dir / "b" / "escape");
    fs::create_symlink("../../etc", dir / "b" / "relative-escape");
    CHECK_FALSE(net::build_bundle_torrent(dir / "b"));
    fs::remove(dir / "b" / "relative-escape");

    fs::create_symlink("bundle.toml", dir / "b" / "alias.toml");
    auto linked = net::build_bundle_torrent(dir / "b");
    REQUIRE(linked);
    fs::remove(dir / "b" / "alias.toml");
    fs::copy_file(dir / "b" / "bundle.toml", dir / "b" / "alias.toml");
    CHECK(net::build_bundle_torrent(dir / "b").value().id == linked->id);
}

TEST_CASE("a directory without bytes is not a bundle", "[net]") {
    // No files, or only empty ones: invalid_argument; a missing directory: not_found.
    TempDir dir;
    fs::create_directories(dir / "empty" / "sub");
    auto nothing = net::build_bundle_torrent(dir / "empty");
    REQUIRE_FALSE(nothing);
    CHECK(nothing.error().is(Errc::invalid_argument));
    std::ofstream(dir / "empty" / "zero").close();
    CHECK_FALSE(net::build_bundle_torrent(dir / "empty"));
    auto missing = net::build_bundle_torrent(dir / "nope");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().is(Errc::not_found));
}

TEST_CASE("verification catches extra, missing and modified files", "[net]") {
    // Each deviation from the id is Errc::untrusted; the exact tree passes.
    TempDir dir;
    make_bundle(dir / "b", 200'000);
    const auto id = net::build_bundle_torrent(dir / "b").value().id;
    REQUIRE(net::verify_bundle_directory(dir / "b", id));

    write_random_file(dir / "b" / "stray", 1, 1);
    auto extra = net::verify_bundle_directory(dir / "b", id);
    REQUIRE_FALSE(extra);
    CHECK(extra.error().is(Errc::untrusted));
    fs::remove(dir / "b" / "stray");

    fs::remove(dir / "b" / "scripts" / "empty.marker");
    CHECK_FALSE(net::verify_bundle_directory(dir / "b", id));
    std::ofstream(dir / "b" / "scripts" / "empty.marker").close();
    REQUIRE(net::verify_bundle_directory(dir / "b", id));

    {
        std::fstream file(dir / "b" / "payload" / "big.bin", std::ios::binary | std::ios::in | std::ios::out);
        file.seekp(1000);
        file.put('\x5a');
    }
    auto modified = net::verify_bundle_directory(dir / "b", id);
    REQUIRE_FALSE(modified);
    CHECK(modified.error().is(Errc::untrusted));
}

TEST_CASE("a cancelled build stops with Errc::state", "[net]") {
    // The cancel flag is honoured between pieces.
    TempDir dir;
    make_bundle(dir / "b", 1'000'000);
    std::atomic<bool> cancel{true};
    auto cancelled = net::build_bundle_torrent(dir / "b", &cancel);
    REQUIRE_FALSE(cancelled);
    CHECK(cancelled.error().is(Errc::state));
}
