#include <catch2/catch.hpp>
#include <sys/stat.h>

#include "common/file_io.hpp"
#include "support/temp_dir.hpp"

using namespace patchwave;

TEST_CASE("atomic writes set the mode and leave no temp files", "[common]") {
    // The file has exactly the requested mode and the directory holds only it.
    testing::TempDir dir;
    const auto path = dir / "secret";
    REQUIRE(write_file_atomic(path, "hello", 0600));
    CHECK(read_file(path, 100).value() == "hello");
    struct stat info {};
    REQUIRE(::stat(path.c_str(), &info) == 0);
    CHECK((info.st_mode & 07777) == 0600);
    CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), {}) == 1);
}

TEST_CASE("refusing to overwrite keeps the existing file", "[common]") {
    // Overwrite::refuse fails with already_exists and the old content survives.
    testing::TempDir dir;
    const auto path = dir / "root.json";
    REQUIRE(write_file_atomic(path, "v1", 0644));
    auto second = write_file_atomic(path, "v2", 0644, Overwrite::refuse);
    REQUIRE_FALSE(second);
    CHECK(second.error().is(Errc::already_exists));
    CHECK(read_file(path, 100).value() == "v1");
    CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), {}) == 1);
    REQUIRE(write_file_atomic(path, "v3", 0644));
    CHECK(read_file(path, 100).value() == "v3");
}

TEST_CASE("reads enforce the size cap and report missing files", "[common]") {
    // An oversized file is Errc::limit; a missing one Errc::not_found.
    testing::TempDir dir;
    REQUIRE(write_file_atomic(dir / "big", std::string(1000, 'x'), 0644));
    auto big = read_file(dir / "big", 999);
    REQUIRE_FALSE(big);
    CHECK(big.error().is(Errc::limit));
    CHECK(read_file(dir / "big", 1000).value().size() == 1000);
    CHECK(read_file(dir / "absent", 10).error().is(Errc::not_found));
}

TEST_CASE("a write into a missing directory fails cleanly", "[common]") {
    // No partial file anywhere, and an I/O error naming the path.
    testing::TempDir dir;
    auto result = write_file_atomic(dir / "no-such-dir" / "file", "x", 0644);
    REQUIRE_FALSE(result);
    CHECK(result.error().message().find("no-such-dir") != std::string::npos);
}
