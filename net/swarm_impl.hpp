// Internal to net/: the state behind a Swarm, shared by swarm.cpp (the calls
// and the session's lifetime) and swarm_alerts.cpp (what libtorrent reports).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/alert.hpp>
#include <libtorrent/bitfield.hpp>
#include <libtorrent/ip_filter.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/torrent_handle.hpp>
#include <libtorrent/torrent_status.hpp>

#include "net/resume_store.hpp"
#include "net/seed_budget.hpp"
#include "net/swarm.hpp"

namespace patchwave::net {

/// One bundle in the session.
struct SwarmBundle {
    rollout::BundleId id{};
    libtorrent::torrent_handle handle;
    BundleRole role = BundleRole::fetch;
    BundlePhase phase = BundlePhase::metadata;
    std::filesystem::path directory;  // the bundle root: save path and staging directory
    std::uint64_t total_bytes = 0;
    int hash_failures = 0;
    bool pin_when_ready = false;
    bool held = false;           // fetch added with FetchOptions::hold, not yet released
    bool super_seeding = false;  // seed in initial-seeding mode, until one full copy is out
    // Pieces seen at some peer while super-seeding, including peers gone since.
    libtorrent::typed_bitfield<libtorrent::piece_index_t> pieces_out;
    // Tells a verification result apart from one for an earlier add of the same id.
    std::uint64_t generation = 0;
    std::int64_t last_uploaded = 0;
};

struct Swarm::Impl : std::enable_shared_from_this<Swarm::Impl> {
    Impl(boost::asio::any_io_executor executor, SwarmConfig config, SwarmEvents events);

    // --- swarm.cpp: lifetime and calls
    Status start_session();
    void schedule_progress();
    void schedule_resume_save();
    Status add_bundle(SwarmBundle bundle, libtorrent::add_torrent_params params);
    // These two erase the bundle, so they take the id by value: callers pass
    // bundle.id, which would dangle after the erase.
    void drop_bundle(rollout::BundleId id);  // from session and maps; files stay
    void evict(std::vector<rollout::BundleId> ids);
    void stop();
    Status check_running() const;
    SwarmBundle* find(const rollout::BundleId& id);
    BundleProgress snapshot(const SwarmBundle& bundle, const libtorrent::torrent_status& status) const;

    // --- swarm_alerts.cpp: what libtorrent reports
    void drain();
    void handle_alert(const libtorrent::alert* alert);
    SwarmBundle* bundle_for(const libtorrent::torrent_handle& handle);
    void on_metadata(SwarmBundle& bundle);
    void on_finished(SwarmBundle& bundle);
    void on_verified(rollout::BundleId id, std::uint64_t generation, const Status& result);
    void on_state_update(const std::vector<libtorrent::torrent_status>& statuses);
    void on_resume_data(const libtorrent::add_torrent_params& params);
    void fail_bundle(rollout::BundleId id, const Error& error, bool delete_staging);
    void request_resume_save(SwarmBundle& bundle);
    void check_initial_seeding(SwarmBundle& bundle);
    void block_address(const libtorrent::address& address);

    // Events go through the executor with a liveness check, so a callback
    // never runs inside a Swarm call nor after stop().
    void post_progress(const BundleProgress& progress);
    void post_ready(const rollout::BundleId& id, const std::filesystem::path& directory);
    void post_failed(const rollout::BundleId& id, const Error& error);
    void post_evicted(const rollout::BundleId& id);

    boost::asio::any_io_executor executor_;
    SwarmConfig config_;
    SwarmEvents events_;
    ResumeStore resume_;
    SeedBudget budget_;
    std::unique_ptr<libtorrent::session> session_;
    Endpoint endpoint_;
    bool stopped_ = false;
    std::uint64_t next_generation_ = 1;
    std::map<rollout::BundleId, SwarmBundle> bundles_;
    // owner_before ordering: still finds the bundle for alerts about a removed torrent.
    std::map<libtorrent::torrent_handle, rollout::BundleId> ids_;
    // Addresses of peers that sent corrupt data: refused for the session's life.
    libtorrent::ip_filter blocked_;
    boost::asio::steady_timer progress_timer_;
    boost::asio::steady_timer resume_timer_;
    // Staging verification re-hashes whole bundles: off the event loop.
    boost::asio::thread_pool verify_pool_{1};
    // Bytes by peer kind, counted by a session plugin on libtorrent's thread.
    std::shared_ptr<TrafficCounter> traffic_ = std::make_shared<TrafficCounter>();
    std::shared_ptr<std::atomic<bool>> cancel_verification_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace patchwave::net
