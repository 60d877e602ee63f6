#include <catch2/catch.hpp>
#include <sys/stat.h>

#include "common/file_io.hpp"
#include "crypto/key_file.hpp"
#include "support/temp_dir.hpp"
#include "support/test_keys.hpp"

using namespace patchwave;
using namespace patchwave::crypto;

TEST_CASE("a saved private key loads back and is 0600", "[crypto]") {
    // Round trip through the file, which only the owner can read.
    testing::TempDir dir;
    const auto path = dir / "release.key";
    const PrivateKey key = testing::test_key(7);
    REQUIRE(save_private_key(path, key));
    struct stat info {};
    REQUIRE(::stat(path.c_str(), &info) == 0);
    CHECK((info.st_mode & 07777) == 0600);
    CHECK(load_private_key(path).value().public_key() == key.public_key());
}

TEST_CASE("a group- or world-readable private key is refused", "[crypto]") {
    // Loading fails, names the mode and the fix.
    testing::TempDir dir;
    const auto path = dir / "loose.key";
    REQUIRE(save_private_key(path, testing::test_key(7)));
    REQUIRE(::chmod(path.c_str(), 0640) == 0);
    auto loaded = load_private_key(path);
    REQUIRE_FALSE(loaded);
    CHECK(loaded.error().message() == "private key " + path.string() +
                                          " is accessible by group or others (mode 0640); run: chmod 600 " +
                                          path.string());
    REQUIRE(::chmod(path.c_str(), 0604) == 0);
    CHECK_FALSE(load_private_key(path));
    REQUIRE(::chmod(path.c_str(), 0400) == 0);
    CHECK(load_private_key(path));
}

TEST_CASE("saving never overwrites an existing key by default", "[crypto]") {
    // A second save to the same path fails and the first key survives.
    testing::TempDir dir;
    const auto path = dir / "root.key";
    REQUIRE(save_private_key(path, testing::test_key(1)));
    auto again = save_private_key(path, testing::test_key(2));
    REQUIRE_FALSE(again);
    CHECK(again.error().is(Errc::already_exists));
    CHECK(load_private_key(path).value().public_key() == testing::test_key(1).public_key());
}

TEST_CASE("malformed key files are refused with file and line", "[crypto]") {
    // Wrong line, short key, two keys, empty file, a symlink.
    testing::TempDir dir;
    const auto write = [&](const std::string& name, const std::string& text) {
        REQUIRE(write_file_atomic(dir / name, text, 0600));
        return dir / name;
    };
    auto wrong = write("wrong.key", "# comment\nssh-ed25519 AAAA\n");
    CHECK(load_private_key(wrong).error().message() ==
          wrong.string() + ":2: not a Patchwave private key line (expected \"patchwave-private-key-v1:ed25519:...\")");
    auto short_key = write("short.key", "patchwave-private-key-v1:ed25519:AAAA\n");
    CHECK(load_private_key(short_key).error().message() == short_key.string() + ":1: the key is not 32 bytes of base64");
    const std::string line = "patchwave-private-key-v1:ed25519:" + base64_encode(testing::test_key(1).seed()) + "\n";
    auto two = write("two.key", line + line);
    CHECK(load_private_key(two).error().message() == two.string() + ":2: more than one key in the file");
    auto empty = write("empty.key", "");
    CHECK(load_private_key(empty).error().message() == "private key " + empty.string() + ": no key line found");
    std::filesystem::create_symlink(dir / "two.key", dir / "link.key");
    CHECK(load_private_key(dir / "link.key").error().message().ends_with("is not a regular file"));
    CHECK(load_private_key(dir / "absent.key").error().is(Errc::not_found));
}

TEST_CASE("public key files hold the text form", "[crypto]") {
    // load_public_key reads what `patchwave key generate` prints.
    testing::TempDir dir;
    const PublicKey key = testing::test_key(9).public_key();
    REQUIRE(write_file_atomic(dir / "k.pub", key.to_text() + "\n", 0644));
    CHECK(load_public_key(dir / "k.pub").value() == key);
    REQUIRE(write_file_atomic(dir / "bad.pub", "nonsense\n", 0644));
    CHECK(load_public_key(dir / "bad.pub").error().message() ==
          (dir / "bad.pub").string() + ": public key \"nonsense\" does not start with \"ed25519:\"");
}
