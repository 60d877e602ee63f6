// Attacks by BitTorrent peers (docs/security.md row 2): a peer that trickles
// data, with libtorrent sessions on 127.0.140.x in this process.
#include <catch2/catch.hpp>

#include "net/swarm_harness.hpp"
#include "support/temp_dir.hpp"

using namespace patchwave;
using namespace patchwave::testing;
using namespace std::chrono_literals;

namespace {

std::uint64_t bytes_done(const Node& node, const rollout::BundleId& id) {
    auto it = node.progress.find(id);
    return it == node.progress.end() ? 0 : it->second.bytes_done;
}

}  // namespace

TEST_CASE("attack 2: a peer that trickles data does not hold a fetch: it switches to an honest peer", "[adversarial]") {
    // The only peer a fetcher knows at first sends 4 KB/s (a slowloris, or a
    // peer on a bad link). After two seconds the fetch has next to nothing;
    // once gossip names an honest seed it finishes from that one within
    // seconds, every byte verified, and the trickler's requests go elsewhere.
    TempDir dir;
    make_bundle(dir / "src", 4'000'000);
    boost::asio::io_context io;
    auto slow =
        start_node(io, "127.0.140.1", dir / "slow", [](net::SwarmConfig& config) { config.upload_limit = 4'000; });
    const auto id = slow->swarm->seed(dir / "src").value();
    auto fetcher = start_node(io, "127.0.140.3", dir / "fetch");
    REQUIRE(fetcher->swarm->fetch(id, dir / "staging", fetch_from({slow->endpoint()})));
    run_for(io, 2000ms);
    CHECK_FALSE(fetcher->is_ready(id));
    CHECK(bytes_done(*fetcher, id) < 400'000);

    auto honest = start_node(io, "127.0.140.2", dir / "honest");
    REQUIRE(honest->swarm->seed(dir / "src"));
    const auto added = std::chrono::steady_clock::now();
    REQUIRE(fetcher->swarm->add_peers(id, std::vector{honest->endpoint()}));
    REQUIRE(run_until(
        io, [&] { return fetcher->is_ready(id) || fetcher->failed.contains(id); }, 20s));
    REQUIRE(fetcher->is_ready(id));
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(*fetcher->ready_at - added);
    INFO("finished " << took.count() << " ms after the honest peer was added");
    CHECK(took < 10s);
    CHECK(snapshot_tree(dir / "staging") == snapshot_tree(dir / "src"));
    CHECK(fetcher->progress.at(id).hash_failures == 0);
}
