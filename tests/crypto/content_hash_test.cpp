#include <catch2/catch.hpp>
#include <sys/stat.h>

#include "common/file_io.hpp"
#include "common/hex.hpp"
#include "crypto/content_hash.hpp"
#include "support/temp_dir.hpp"

using namespace patchwave;
using namespace patchwave::crypto;

TEST_CASE("file hashes match the SHA-256 test vectors", "[crypto]") {
    // FIPS 180-2 "abc", the empty string, and a file larger than the read buffer.
    testing::TempDir dir;
    REQUIRE(write_file_atomic(dir / "abc", "abc", 0644));
    CHECK(digest_hex(hash_file(dir / "abc").value()) ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    REQUIRE(write_file_atomic(dir / "empty", "", 0644));
    CHECK(digest_hex(hash_file(dir / "empty").value()) ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const std::string big(200000, 'a');
    REQUIRE(write_file_atomic(dir / "big", big, 0644));
    CHECK(hash_file(dir / "big").value() == sha256(big));
}

TEST_CASE("a directory fingerprint changes with any content, name or mode", "[crypto]") {
    // Edits, renames, mode changes and new files all change it; nothing else does.
    testing::TempDir dir;
    const auto tree = dir / "etc";
    std::filesystem::create_directories(tree / "ssl");
    REQUIRE(write_file_atomic(tree / "ssl" / "openssl.cnf", "v1", 0644));
    REQUIRE(write_file_atomic(tree / "hosts", "127.0.0.1 localhost", 0644));
    const Digest original = hash_path(tree).value();
    CHECK(hash_path(tree).value() == original);

    REQUIRE(write_file_atomic(tree / "ssl" / "openssl.cnf", "v2", 0644));
    const Digest edited = hash_path(tree).value();
    CHECK(edited != original);

    REQUIRE(::chmod((tree / "hosts").c_str(), 0600) == 0);
    const Digest chmodded = hash_path(tree).value();
    CHECK(chmodded != edited);

    std::filesystem::rename(tree / "hosts", tree / "hosts.bak");
    const Digest renamed = hash_path(tree).value();
    CHECK(renamed != chmodded);

    std::filesystem::create_symlink("ssl/openssl.cnf", tree / "link");
    CHECK(hash_path(tree).value() != renamed);
}

TEST_CASE("symlinks are fingerprinted by target, not followed", "[crypto]") {
    // Retargeting a link changes its fingerprint even if both targets match.
    testing::TempDir dir;
    REQUIRE(write_file_atomic(dir / "a", "same", 0644));
    REQUIRE(write_file_atomic(dir / "b", "same", 0644));
    std::filesystem::create_symlink("a", dir / "link");
    const Digest to_a = hash_path(dir / "link").value();
    std::filesystem::remove(dir / "link");
    std::filesystem::create_symlink("b", dir / "link");
    CHECK(hash_path(dir / "link").value() != to_a);
}

TEST_CASE("a missing path is reported as not found", "[crypto]") {
    // Drift detection distinguishes "deleted" from an I/O error.
    testing::TempDir dir;
    CHECK(hash_path(dir / "gone").error().is(Errc::not_found));
    CHECK(hash_file(dir / "gone").error().is(Errc::not_found));
}

TEST_CASE("moving content between files changes the fingerprint", "[crypto]") {
    // Framing keeps {a:"xy", b:""} and {a:"x", b:"y"} apart.
    testing::TempDir one, two;
    REQUIRE(write_file_atomic(one / "a", "xy", 0644));
    REQUIRE(write_file_atomic(one / "b", "", 0644));
    REQUIRE(write_file_atomic(two / "a", "x", 0644));
    REQUIRE(write_file_atomic(two / "b", "y", 0644));
    CHECK(hash_path(one.path()).value() != hash_path(two.path()).value());
}
