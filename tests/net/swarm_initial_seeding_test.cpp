// An origin that super-seeds, and fetches that join a swarm before their wave
// opens (FetchOptions::hold): the two settings the swarm benchmark relies on.
#include <catch2/catch.hpp>

#include "support/temp_dir.hpp"
#include "swarm_harness.hpp"

using namespace patchwave;
using namespace patchwave::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

TEST_CASE("a super-seeding origin sends about one copy and its fetchers finish with identical bytes", "[swarm]") {
    TempDir dir;
    constexpr std::size_t size = 4'000'000;
    make_bundle(dir / "src", size);
    const auto expected = snapshot_tree(dir / "src");
    boost::asio::io_context io;
    auto origin = start_node(io, "127.0.4.1", dir / "origin");
    net::SeedOptions seed;
    seed.super_seed = true;
    auto id = origin->swarm->seed(dir / "src", seed);
    REQUIRE(id);

    std::vector<std::unique_ptr<Node>> fetchers;
    std::vector<net::Endpoint> everyone{origin->endpoint()};
    for (int i = 0; i < 6; ++i) {
        fetchers.push_back(start_node(io, "127.0.4." + std::to_string(10 + i), dir / ("state" + std::to_string(i))));
        everyone.push_back(fetchers.back()->endpoint());
    }
    for (int i = 0; i < 6; ++i) {
        REQUIRE(fetchers[i]->swarm->fetch(*id, dir / ("staging" + std::to_string(i)), fetch_from(everyone)));
    }
    const auto all_done = [&] {
        return std::all_of(fetchers.begin(), fetchers.end(),
                           [&](const auto& f) { return f->is_ready(*id) || f->failed.contains(*id); });
    };
    // libtorrent 2.0 offers a super-seeding origin's first piece to a peer
    // only ~10 s after it connected (docs/swarm.md), hence the long limit.
    REQUIRE(run_until(io, all_done, 45s));
    for (int i = 0; i < 6; ++i) {
        INFO("fetcher " << i);
        REQUIRE_FALSE(fetchers[i]->failed.contains(*id));
        CHECK(snapshot_tree(dir / ("staging" + std::to_string(i))) == expected);
    }
    const std::uint64_t uploaded = origin->swarm->progress(*id).value().uploaded;
    WARN("super-seeding origin uploaded " << uploaded << " bytes for 6 fetchers of " << size << " ("
                                          << static_cast<double>(uploaded) / size << " x S)");
    // Without super-seeding the same swarm on loopback has the origin send
    // 2-3 x S; super-seeding sends each piece once until every piece is out.
    CHECK(uploaded >= size);
    CHECK(uploaded < size * 3 / 2);

    // One full copy is out, so initial seeding has ended: a latecomer alone
    // with the origin downloads at once instead of being offered a piece at
    // a time after libtorrent's 10 s delay. (The origin looks at its peers
    // every progress_interval, 200 ms here; give it one look first.)
    run_for(io, 1s);
    for (auto& fetcher : fetchers)
        fetcher->swarm->stop();
    auto latecomer = start_node(io, "127.0.4.20", dir / "late");
    const auto start = std::chrono::steady_clock::now();
    REQUIRE(latecomer->swarm->fetch(*id, dir / "late-staging", fetch_from({origin->endpoint()})));
    REQUIRE(run_until(
        io, [&] { return latecomer->is_ready(*id) || latecomer->failed.contains(*id); }, 20s));
    REQUIRE_FALSE(latecomer->failed.contains(*id));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    WARN("latecomer alone with the origin ready in " << seconds << " s");
    CHECK(seconds < 5);
    CHECK(snapshot_tree(dir / "late-staging") == expected);
}

TEST_CASE("a held fetch joins the swarm but downloads only after release", "[swarm]") {
    TempDir dir;
    constexpr std::size_t size = 2'000'000;
    make_bundle(dir / "src", size);
    const auto expected = snapshot_tree(dir / "src");
    boost::asio::io_context io;
    auto origin = start_node(io, "127.0.4.30", dir / "origin");
    auto id = origin->swarm->seed(dir / "src");
    REQUIRE(id);
    auto first = start_node(io, "127.0.4.31", dir / "state1");
    auto second = start_node(io, "127.0.4.32", dir / "state2");
    net::FetchOptions held = fetch_from({origin->endpoint(), second->endpoint()});
    held.hold = true;
    REQUIRE(first->swarm->fetch(*id, dir / "staging1", held));
    held.peers = {origin->endpoint(), first->endpoint()};
    REQUIRE(second->swarm->fetch(*id, dir / "staging2", held));

    // Joined: both fetchers know the bundle's size from the metadata and
    // stay connected to the origin and to each other, yet hold no byte.
    const auto joined = [&] {
        const auto a = first->swarm->progress(*id);
        const auto b = second->swarm->progress(*id);
        return a && b && a->bytes_total > 0 && b->bytes_total > 0 && a->peers >= 2 && b->peers >= 2;
    };
    REQUIRE(run_until(io, joined, 10s));
    run_for(io, 2s);
    for (Node* node : {first.get(), second.get()}) {
        const auto progress = node->swarm->progress(*id).value();
        CHECK(progress.phase == net::BundlePhase::downloading);
        CHECK(progress.bytes_done == 0);
        CHECK(progress.downloaded == 0);
        CHECK(progress.peers >= 2);
        CHECK_FALSE(node->is_ready(*id));
    }
    CHECK(origin->swarm->progress(*id).value().uploaded == 0);

    REQUIRE(first->swarm->release(*id));
    REQUIRE(first->swarm->release(*id));  // releasing twice is harmless
    REQUIRE(second->swarm->release(*id));
    REQUIRE(run_until(
        io, [&] { return first->is_ready(*id) && second->is_ready(*id); }, 20s));
    CHECK(snapshot_tree(dir / "staging1") == expected);
    CHECK(snapshot_tree(dir / "staging2") == expected);

    auto unknown = first->swarm->release(rollout::BundleId{});
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().is(Errc::not_found));
}
