#include <fstream>

#include <catch2/catch.hpp>

#include "net/bundle_torrent.hpp"
#include "support/temp_dir.hpp"
#include "swarm_harness.hpp"

using namespace patchwave;
using namespace patchwave::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// Inverts one byte every `stride` bytes of `path`, in place (same inode, so
// a running seed reads the damage).
void corrupt(const fs::path& path, std::size_t stride) {
    std::fstream file(path, std::ios::binary | std::ios::in | std::ios::out);
    const auto size = static_cast<std::size_t>(fs::file_size(path));
    for (std::size_t offset = stride / 2; offset < size; offset += stride) {
        file.seekg(static_cast<std::streamoff>(offset));
        const char byte = static_cast<char>(file.get());
        file.seekp(static_cast<std::streamoff>(offset));
        file.put(static_cast<char>(~byte));
    }
}

int hash_failures(const Node& node, const rollout::BundleId& id) {
    auto it = node.progress.find(id);
    return it == node.progress.end() ? 0 : it->second.hash_failures;
}

}  // namespace

TEST_CASE("a peer serving corrupted data fails hash checks and fetchers finish from an honest seed", "[swarm]") {
    // C downloads the bundle honestly, then its copy is damaged on disk; C
    // serves the damage without re-reading hashes. Fetchers that only know C
    // see hash failures; once the honest seed is back they finish with the
    // original bytes, and no corrupt byte reaches a ready bundle.
    TempDir dir;
    make_bundle(dir / "src", 4'000'000);
    const auto expected = snapshot_tree(dir / "src");
    boost::asio::io_context io;
    auto honest = start_node(io, "127.0.9.1", dir / "honest");
    const auto id = honest->swarm->seed(dir / "src").value();
    auto corrupter = start_node(io, "127.0.9.2", dir / "corrupter");
    REQUIRE(corrupter->swarm->fetch(id, dir / "staging-c", fetch_from({honest->endpoint()})));
    REQUIRE(run_until(
        io, [&] { return corrupter->is_ready(id); }, 10s));
    // Take the honest seed away so the fetchers can only reach C at first.
    REQUIRE(honest->swarm->remove(id));
    corrupt(dir / "staging-c" / "payload" / "big.bin", 150'000);

    std::vector<std::unique_ptr<Node>> fetchers;
    for (int i = 0; i < 2; ++i) {
        fetchers.push_back(start_node(io, "127.0.9." + std::to_string(3 + i), dir / ("f" + std::to_string(i))));
        REQUIRE(
            fetchers[i]->swarm->fetch(id, dir / ("staging" + std::to_string(i)), fetch_from({corrupter->endpoint()})));
    }
    REQUIRE(run_until(
        io, [&] { return hash_failures(*fetchers[0], id) > 0 && hash_failures(*fetchers[1], id) > 0; }, 15s));
    for (const auto& fetcher : fetchers)
        CHECK_FALSE(fetcher->is_ready(id));

    // A new honest seed, as gossip would announce one.
    auto rescuer = start_node(io, "127.0.9.10", dir / "rescuer");
    REQUIRE(rescuer->swarm->seed(dir / "src"));
    for (const auto& fetcher : fetchers)
        REQUIRE(fetcher->swarm->add_peers(id, std::vector{rescuer->endpoint()}));
    REQUIRE(run_until(
        io, [&] { return fetchers[0]->is_ready(id) && fetchers[1]->is_ready(id); }, 15s));
    for (int i = 0; i < 2; ++i) {
        INFO("fetcher " << i);
        CHECK(fetchers[i]->failed.empty());
        CHECK(hash_failures(*fetchers[i], id) > 0);
        CHECK(snapshot_tree(dir / ("staging" + std::to_string(i))) == expected);
    }
}

TEST_CASE("a seed whose files changed after seed() stops seeding and sends nothing corrupt", "[swarm]") {
    // Seed mode hashes each piece when first asked for; the altered pieces
    // fail there, the seed is reported failed (untrusted), its directory is
    // left alone, and the fetcher never sees a bad piece.
    TempDir dir;
    make_bundle(dir / "src", 3'000'000);
    fs::copy(dir / "src", dir / "altered", fs::copy_options::recursive);
    const auto torrent = net::build_bundle_torrent(dir / "src").value();
    boost::asio::io_context io;
    auto altered = start_node(io, "127.0.9.5", dir / "altered-state");
    REQUIRE(altered->swarm->seed(dir / "altered", seed_with(torrent.torrent)));
    corrupt(dir / "altered" / "payload" / "big.bin", 500'000);
    const auto damaged = snapshot_tree(dir / "altered");

    auto fetcher = start_node(io, "127.0.9.6", dir / "fetch");
    REQUIRE(fetcher->swarm->fetch(torrent.id, dir / "staging", fetch_from({altered->endpoint()})));
    REQUIRE(run_until(
        io, [&] { return altered->failed.contains(torrent.id); }, 10s));
    CHECK(altered->failed.at(torrent.id).is(Errc::untrusted));
    CHECK(altered->swarm->bundles().empty());
    CHECK(snapshot_tree(dir / "altered") == damaged);

    auto honest = start_node(io, "127.0.9.7", dir / "honest");
    REQUIRE(honest->swarm->seed(dir / "src"));
    REQUIRE(fetcher->swarm->add_peers(torrent.id, std::vector{honest->endpoint()}));
    REQUIRE(run_until(
        io, [&] { return fetcher->is_ready(torrent.id); }, 10s));
    CHECK(fetcher->swarm->progress(torrent.id).value().hash_failures == 0);
    CHECK(snapshot_tree(dir / "staging") == snapshot_tree(dir / "src"));
}

TEST_CASE("a download that does not match its id is deleted and reported failed", "[swarm]") {
    // A stray file in staging makes the directory differ from the bundle:
    // verification fails, staging is emptied, no ready event is sent.
    TempDir dir;
    make_bundle(dir / "src", 1'000'000);
    write_random_file(dir / "staging" / "stray.txt", 100, 4);
    boost::asio::io_context io;
    auto seed = start_node(io, "127.0.9.8", dir / "seed");
    const auto id = seed->swarm->seed(dir / "src").value();
    auto fetcher = start_node(io, "127.0.9.9", dir / "fetch");
    REQUIRE(fetcher->swarm->fetch(id, dir / "staging", fetch_from({seed->endpoint()})));
    REQUIRE(run_until(
        io, [&] { return fetcher->failed.contains(id) || fetcher->is_ready(id); }, 10s));
    REQUIRE(fetcher->failed.contains(id));
    CHECK(fetcher->failed.at(id).is(Errc::untrusted));
    CHECK_THAT(fetcher->failed.at(id).message(), Catch::Contains("failed verification"));
    CHECK_FALSE(fetcher->is_ready(id));
    CHECK(fs::is_empty(dir / "staging"));
    CHECK_FALSE(fs::exists(dir / "fetch" / "resume" / (rollout::to_hex(id) + ".resume")));
    CHECK(fetcher->swarm->bundles().empty());
}
