// The swarm: one libtorrent session per process that seeds bundle directories
// and fetches bundles by id, reporting progress and completion on the caller's executor.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "common/error.hpp"
#include "net/swarm_config.hpp"
#include "net/swarm_traffic.hpp"
#include "rollout/ids.hpp"

namespace patchwave::net {

enum class BundleRole { seed, fetch };
/// metadata: waiting for the torrent from peers; downloading; verifying: all
/// pieces are in and the staging directory is being re-hashed; seeding: ready.
enum class BundlePhase { metadata, downloading, verifying, seeding };
std::string_view to_string(BundleRole role);
std::string_view to_string(BundlePhase phase);

/// A snapshot of one bundle in the swarm. Byte counters are payload only and
/// count since the bundle was added in this process.
struct BundleProgress {
    rollout::BundleId id{};
    BundleRole role = BundleRole::fetch;
    BundlePhase phase = BundlePhase::metadata;
    std::uint64_t bytes_done = 0;
    std::uint64_t bytes_total = 0;  ///< 0 until the metadata is known
    int peers = 0;
    int seeds = 0;
    std::uint64_t download_rate = 0;  ///< bytes/s
    std::uint64_t upload_rate = 0;    ///< bytes/s
    std::uint64_t downloaded = 0;
    std::uint64_t uploaded = 0;
    int hash_failures = 0;  ///< pieces received here that failed their hash check
};

/// Callbacks, each run on the executor given to Swarm::start, never inside a
/// Swarm call (so they may call back into the Swarm) and never after stop().
struct SwarmEvents {
    /// Every SwarmConfig::progress_interval, for each bundle whose state changed.
    std::function<void(const BundleProgress&)> progress;
    /// A fetched bundle is complete and its directory matches the id byte for byte.
    std::function<void(const rollout::BundleId&, const std::filesystem::path& directory)> ready;
    /// The bundle left the swarm: a disk error, or a finished download that did
    /// not verify (its staging content is deleted before this is reported).
    std::function<void(const rollout::BundleId&, const Error&)> failed;
    /// A seed was dropped to keep within the seeding budget (files kept).
    std::function<void(const rollout::BundleId&)> evicted;
};

struct SeedOptions {
    /// The bundle's .torrent bytes; empty means build it from the directory
    /// (hashing every byte on the calling thread).
    std::string torrent;
    /// Pinned seeds are never evicted for the seeding budget.
    bool pinned = false;
    /// Initial seeding (BEP 16) for an origin: each peer is offered pieces no
    /// one else has, so the origin sends each piece about once. Turned off by
    /// the swarm as soon as the peers hold one full copy between them (the
    /// origin is then an ordinary seed). Set it when the orchestrator seeds a
    /// new bundle; not for agents re-seeding what they installed. libtorrent
    /// 2.0 offers a peer its first pieces only ~10 s after it connects, so
    /// fetchers should join (FetchOptions::hold) before the wave opens; see
    /// docs/swarm.md for the measurements.
    bool super_seed = false;
    std::vector<Endpoint> peers;
};

struct FetchOptions {
    /// The bundle's .torrent bytes if known; else the metadata comes from peers.
    std::string torrent;
    std::vector<Endpoint> peers;
    /// Once ready, the bundle seeds from its staging directory, pinned or not.
    bool pin_when_ready = false;
    /// Join the bundle's swarm now (connect to peers, get the metadata, be
    /// offered pieces) but download nothing until release(id): for agents
    /// that learn of a bundle before their wave opens. A restart forgets it.
    bool hold = false;
};

/// Use from the executor's thread only (as every Asio object is); libtorrent
/// runs its own threads and only posts to the executor.
class Swarm {
public:
    /// Starts the session and waits (up to 2 s) until it listens. Errc::io
    /// when the address cannot be bound, Errc::invalid_argument for a bad config.
    static Result<std::unique_ptr<Swarm>> start(boost::asio::any_io_executor executor, SwarmConfig config,
                                                SwarmEvents events);
    Swarm(const Swarm&) = delete;
    Swarm& operator=(const Swarm&) = delete;
    /// Stops (see stop()).
    ~Swarm();

    /// The address and port peers reach this session at.
    Endpoint endpoint() const;

    /// Seeds `directory` (the bundle root) in seed mode: no re-hash at start;
    /// libtorrent hashes each piece the first time a peer asks for it and
    /// stops seeding a piece that fails. Counts against the seeding budget:
    /// may evict unpinned seeds (reported as `evicted`), or fail with
    /// Errc::limit. Seeding an id already seeded updates its pin.
    Result<rollout::BundleId> seed(const std::filesystem::path& directory, SeedOptions options = {});

    /// Fetches bundle `id` into `staging` (created if missing; the bundle's
    /// files land directly in it). Resumes from saved resume data when there is
    /// some. Errc::untrusted when options.torrent is another bundle's,
    /// Errc::already_exists when the id is already in the swarm.
    Status fetch(const rollout::BundleId& id, const std::filesystem::path& staging, FetchOptions options = {});

    /// Starts the download of a fetch added with FetchOptions::hold (the wave
    /// opened). Errc::not_found for an unknown id; a no-op for one not held.
    Status release(const rollout::BundleId& id);

    /// Connects to peers learned later (from gossip). Errc::not_found for an unknown id.
    Status add_peers(const rollout::BundleId& id, std::span<const Endpoint> peers);

    /// Stops seeding or fetching `id` and forgets its resume data; files stay.
    Status remove(const rollout::BundleId& id);

    /// Pins or unpins a seed against eviction. Errc::not_found when not seeding.
    Status set_pinned(const rollout::BundleId& id, bool pinned);

    /// A fresh snapshot (asks libtorrent's thread). Errc::not_found for an unknown id.
    Result<BundleProgress> progress(const rollout::BundleId& id) const;

    std::vector<rollout::BundleId> bundles() const;

    /// Payload bytes moved since start, by the kind of peer at the other end.
    SwarmTraffic traffic() const;
    /// The addresses of the origin's swarm (the orchestrator's advertised
    /// endpoint): traffic with them counts as the origin's in traffic().
    void set_origins(std::vector<boost::asio::ip::address> origins);

    /// Saves resume data of unfinished downloads and closes the session, in
    /// under 2 s. No event is delivered afterwards; every other call then
    /// fails with Errc::state. Idempotent.
    void stop();

private:
    struct Impl;
    explicit Swarm(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace patchwave::net
