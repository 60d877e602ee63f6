#include <catch2/catch.hpp>

#include "net/bundle_torrent.hpp"
#include "support/temp_dir.hpp"
#include "swarm_harness.hpp"

using namespace patchwave;
using namespace patchwave::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Average payload rate of a download from the first bytes to the ready
// event, so connection set-up (which under a cap waits on libtorrent's 500 ms
// quota ticks) does not count. progress() is sampled every 100 ms; libtorrent
// refreshes the figure about every 500 ms, hence transfers of several seconds.
class RateProbe {
public:
    RateProbe(boost::asio::io_context& io, Node& node, rollout::BundleId id) : timer_(io), node_(node), id_(id) {
        sample();
    }
    ~RateProbe() { timer_.cancel(); }
    bool done() const { return node_.ready_at.has_value() && start_.has_value(); }
    double rate() const {
        const double seconds = std::chrono::duration<double>(*node_.ready_at - start_->first).count();
        return static_cast<double>(total_ - start_->second) / seconds;
    }

private:
    void sample() {
        if (auto p = node_.swarm->progress(id_); p && !start_ && p->bytes_done > 0) {
            start_.emplace(std::chrono::steady_clock::now(), p->bytes_done);
            total_ = p->bytes_total;
        }
        timer_.expires_after(100ms);
        timer_.async_wait([this](const boost::system::error_code& ec) {
            if (!ec) sample();
        });
    }
    boost::asio::steady_timer timer_;
    Node& node_;
    rollout::BundleId id_;
    std::optional<std::pair<std::chrono::steady_clock::time_point, std::uint64_t>> start_;
    std::uint64_t total_ = 0;
};

}  // namespace

TEST_CASE("one seed and eight fetchers finish with identical bytes", "[swarm]") {
    // Fetchers know only the bundle id; four are given the seed, four learn
    // peers later via add_peers and never hear of the seed from us. The seed is
    // capped, so most bytes must travel between fetchers.
    TempDir dir;
    constexpr std::size_t size = 8'000'000;
    make_bundle(dir / "src", size);
    const auto expected = snapshot_tree(dir / "src");
    boost::asio::io_context io;
    auto seed = start_node(io, "127.0.1.1", dir / "seed", [](net::SwarmConfig& c) { c.upload_limit = 4'000'000; });
    auto id = seed->swarm->seed(dir / "src");
    REQUIRE(id);

    std::vector<std::unique_ptr<Node>> fetchers;
    for (int i = 0; i < 8; ++i) {
        fetchers.push_back(start_node(io, "127.0.1." + std::to_string(10 + i), dir / ("state" + std::to_string(i))));
    }
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 8; ++i) {
        net::FetchOptions options;
        if (i < 4) options.peers = {seed->endpoint()};
        REQUIRE(fetchers[i]->swarm->fetch(*id, dir / ("staging" + std::to_string(i)), options));
    }
    std::vector<net::Endpoint> early;
    for (int i = 0; i < 4; ++i)
        early.push_back(fetchers[i]->endpoint());
    for (int i = 4; i < 8; ++i)
        REQUIRE(fetchers[i]->swarm->add_peers(*id, early));

    const auto all_done = [&] {
        return std::all_of(fetchers.begin(), fetchers.end(),
                           [&](const auto& f) { return f->is_ready(*id) || f->failed.contains(*id); });
    };
    REQUIRE(run_until(io, all_done, 30s));
    const double elapsed = seconds_since(start);
    for (int i = 0; i < 8; ++i) {
        INFO("fetcher " << i);
        REQUIRE_FALSE(fetchers[i]->failed.contains(*id));
        CHECK(fetchers[i]->ready.at(*id) == fs::canonical(dir / ("staging" + std::to_string(i))));
        CHECK(snapshot_tree(dir / ("staging" + std::to_string(i))) == expected);
    }
    const auto origin = seed->swarm->progress(*id).value();
    std::uint64_t fetcher_upload = 0;
    for (auto& f : fetchers)
        fetcher_upload += f->swarm->progress(*id).value().uploaded;
    WARN("8 fetchers of " << size << " bytes in " << elapsed << " s; origin uploaded " << origin.uploaded << " bytes ("
                          << static_cast<double>(origin.uploaded) / size << " x S), fetchers " << fetcher_upload);
    // From the capped origin alone, 8 copies would take 16 s and 8 x S of its
    // upload; most bytes must have come from fetchers instead.
    CHECK(origin.uploaded < 5 * size);
    CHECK(fetcher_upload > 3 * size);
}

TEST_CASE("upload and download limits bind loopback peers", "[swarm]") {
    // 127.0.x.y is in libtorrent's unthrottled local class by default; the
    // peer-class policy must make the caps bind anyway.
    TempDir dir;
    boost::asio::io_context io;

    SECTION("a 1 MB/s upload cap on the seed") {
        make_bundle(dir / "src", 6'000'000);
        auto seed = start_node(io, "127.0.2.1", dir / "seed", [](net::SwarmConfig& c) { c.upload_limit = 1'000'000; });
        auto id = seed->swarm->seed(dir / "src");
        REQUIRE(id);
        auto fetcher = start_node(io, "127.0.2.2", dir / "fetch");
        REQUIRE(fetcher->swarm->fetch(*id, dir / "staging", fetch_from({seed->endpoint()})));
        RateProbe probe(io, *fetcher, *id);
        REQUIRE(run_until(
            io, [&] { return probe.done(); }, 15s));
        WARN("payload rate under a 1,000,000 B/s upload cap: " << probe.rate() << " B/s");
        // Within 15%; the cap counts TCP/IP overhead, so payload runs a little below it.
        CHECK(probe.rate() == Approx(1'000'000).epsilon(0.15));
    }
    SECTION("a 1 MB/s download cap on the fetcher") {
        // A download cap binds as an upper bound; libtorrent grants download
        // quota in large lumps (all outstanding requests at once), so the
        // average of a short transfer falls short of the cap by up to ~25%.
        make_bundle(dir / "src", 6'000'000);
        auto seed = start_node(io, "127.0.2.3", dir / "seed");
        auto id = seed->swarm->seed(dir / "src");
        REQUIRE(id);
        auto fetcher =
            start_node(io, "127.0.2.4", dir / "fetch", [](net::SwarmConfig& c) { c.download_limit = 1'000'000; });
        REQUIRE(fetcher->swarm->fetch(*id, dir / "staging", fetch_from({seed->endpoint()})));
        RateProbe probe(io, *fetcher, *id);
        REQUIRE(run_until(
            io, [&] { return probe.done(); }, 15s));
        WARN("payload rate under a 1,000,000 B/s download cap: " << probe.rate() << " B/s");
        CHECK(probe.rate() <= 1'150'000);
        CHECK(probe.rate() >= 600'000);
    }
}

TEST_CASE("a single-file bundle seeds and fetches into its directory", "[swarm]") {
    // The one file lands directly in staging, whether the fetcher has the
    // torrent or only the id, and the seed is served from the directory itself.
    TempDir dir;
    write_random_file(dir / "src" / "only.bin", 1'500'000, 11);
    auto torrent = net::build_bundle_torrent(dir / "src");
    REQUIRE(torrent);
    boost::asio::io_context io;
    auto seed = start_node(io, "127.0.3.1", dir / "seed");
    REQUIRE(seed->swarm->seed(dir / "src", seed_with(torrent->torrent)).value() == torrent->id);
    auto by_id = start_node(io, "127.0.3.2", dir / "a");
    auto with_torrent = start_node(io, "127.0.3.3", dir / "b");
    REQUIRE(by_id->swarm->fetch(torrent->id, dir / "staging-a", fetch_from({seed->endpoint()})));
    REQUIRE(
        with_torrent->swarm->fetch(torrent->id, dir / "staging-b", fetch_from({seed->endpoint()}, torrent->torrent)));
    REQUIRE(run_until(
        io, [&] { return by_id->is_ready(torrent->id) && with_torrent->is_ready(torrent->id); }, 10s));
    const auto expected = snapshot_tree(dir / "src");
    CHECK(snapshot_tree(dir / "staging-a") == expected);
    CHECK(snapshot_tree(dir / "staging-b") == expected);
    CHECK(expected.size() == 1);
}

TEST_CASE("stop closes a busy session well within 2 s", "[swarm]") {
    // Seed and fetcher mid-transfer; each stop(), resume saving included, is timed.
    TempDir dir;
    make_bundle(dir / "src", 6'000'000);
    boost::asio::io_context io;
    auto seed = start_node(io, "127.0.4.1", dir / "seed", [](net::SwarmConfig& c) { c.upload_limit = 1'000'000; });
    auto id = seed->swarm->seed(dir / "src");
    REQUIRE(id);
    auto fetcher = start_node(io, "127.0.4.2", dir / "fetch");
    REQUIRE(fetcher->swarm->fetch(*id, dir / "staging", fetch_from({seed->endpoint()})));
    REQUIRE(run_until(
        io,
        [&] {
            auto it = fetcher->progress.find(*id);
            return it != fetcher->progress.end() && it->second.bytes_done > 1'000'000;
        },
        10s));
    auto started = std::chrono::steady_clock::now();
    fetcher->swarm->stop();
    const double fetcher_stop = seconds_since(started);
    started = std::chrono::steady_clock::now();
    seed->swarm.reset();
    const double seed_stop = seconds_since(started);
    WARN("stop took " << fetcher_stop << " s (downloading) and " << seed_stop << " s (seeding)");
    CHECK(fetcher_stop < 1.5);
    CHECK(seed_stop < 1.5);
    // The busy download left resume data behind.
    CHECK(fs::exists(dir / "fetch" / "resume" / (rollout::to_hex(*id) + ".resume")));
    // A stopped swarm refuses work instead of hanging.
    CHECK(fetcher->swarm->fetch(*id, dir / "staging").error().is(Errc::state));
}

TEST_CASE("the seeding budget evicts unpinned seeds and refuses what cannot fit", "[swarm]") {
    // 3 MB budget: the oldest unpinned seed goes for a new one; a seed that
    // could only fit by evicting pinned ones is refused with Errc::limit.
    TempDir dir;
    for (int i = 0; i < 5; ++i) {
        write_random_file(dir / ("b" + std::to_string(i)) / "f.bin", i == 4 ? 2'500'000 : 1'000'000, 100 + i);
    }
    boost::asio::io_context io;
    auto node =
        start_node(io, "127.0.5.1", dir / "state", [](net::SwarmConfig& c) { c.seed_budget_bytes = 3'000'000; });
    auto& swarm = *node->swarm;
    const auto first = swarm.seed(dir / "b0").value();
    REQUIRE(swarm.seed(dir / "b1", seed_with("", true)));
    REQUIRE(swarm.seed(dir / "b2"));
    REQUIRE(swarm.seed(dir / "b3"));
    REQUIRE(run_until(
        io, [&] { return !node->evicted.empty(); }, 5s));
    CHECK(node->evicted == std::vector<rollout::BundleId>{first});
    CHECK(swarm.bundles().size() == 3);
    CHECK(swarm.progress(first).error().is(Errc::not_found));

    auto refused = swarm.seed(dir / "b4");
    REQUIRE_FALSE(refused);
    CHECK(refused.error().is(Errc::limit));
    CHECK(swarm.bundles().size() == 3);
}

TEST_CASE("swarm calls report what went wrong", "[swarm]") {
    // A torrent for another bundle is untrusted; duplicates, unknown ids and
    // unusable listen addresses are named errors.
    TempDir dir;
    make_bundle(dir / "a", 100'000, 1);
    make_bundle(dir / "b", 100'000, 2);
    const auto a = net::build_bundle_torrent(dir / "a").value();
    const auto b = net::build_bundle_torrent(dir / "b").value();
    boost::asio::io_context io;
    auto node = start_node(io, "127.0.6.1", dir / "state");
    auto wrong = node->swarm->fetch(a.id, dir / "staging", fetch_from({}, b.torrent));
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error().is(Errc::untrusted));
    REQUIRE(node->swarm->fetch(a.id, dir / "staging"));
    CHECK(node->swarm->fetch(a.id, dir / "staging2").error().is(Errc::already_exists));
    CHECK(node->swarm->add_peers(b.id, std::vector<net::Endpoint>{}).error().is(Errc::not_found));
    CHECK(node->swarm->remove(a.id));
    CHECK(node->swarm->remove(a.id).error().is(Errc::not_found));
    // A seed directory that lacks the torrent's files.
    fs::remove(dir / "b" / "bundle.toml");
    auto missing = node->swarm->seed(dir / "b", seed_with(b.torrent));
    REQUIRE_FALSE(missing);
    CHECK_THAT(missing.error().message(), Catch::Contains("bundle.toml is missing"));
    // An address this host does not have.
    net::SwarmConfig config;
    config.listen_address = "192.0.2.77";
    config.listen_port = 0;
    config.state_dir = dir / "other";
    auto unbound = net::Swarm::start(io.get_executor(), config, {});
    REQUIRE_FALSE(unbound);
    CHECK(unbound.error().is(Errc::io));
    CHECK_THAT(unbound.error().message(), Catch::Contains("192.0.2.77"));
}
