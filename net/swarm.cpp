#include "net/swarm.hpp"

#include <exception>

#include <boost/asio/post.hpp>
#include <libtorrent/alert_types.hpp>
#include <libtorrent/posix_disk_io.hpp>
#include <libtorrent/read_resume_data.hpp>
#include <libtorrent/session_params.hpp>
#include <spdlog/spdlog.h>

#include "net/bundle_torrent.hpp"
#include "net/swarm_impl.hpp"
#include "net/swarm_settings.hpp"
#include "net/torrent_layout.hpp"

namespace patchwave::net {

namespace fs = std::filesystem;
namespace lt = libtorrent;
using namespace std::chrono_literals;

namespace {

// libtorrent throws from a few calls (an invalid handle, allocation); none of
// that may leave the library.
template <class F>
auto guarded(std::string_view what, F&& body) -> decltype(body()) {
    try {
        return body();
    } catch (const std::exception& e) {
        return fail(Errc::io, std::string(what) + ": " + e.what());
    }
}

std::uint64_t payload_bytes(const lt::file_storage& files) {
    std::uint64_t total = 0;
    for (const lt::file_index_t index : files.file_range()) {
        if (!files.pad_file_at(index)) total += static_cast<std::uint64_t>(files.file_size(index));
    }
    return total;
}

// Flags we decide ourselves, whatever resume data or defaults carried: our
// torrents are never queued (auto-managed ones can be paused by libtorrent).
constexpr lt::torrent_flags_t managed_flags = lt::torrent_flags::auto_managed | lt::torrent_flags::paused
                                              | lt::torrent_flags::seed_mode | lt::torrent_flags::upload_mode
                                              | lt::torrent_flags::super_seeding | lt::torrent_flags::share_mode
                                              | lt::torrent_flags::stop_when_ready;

// Whether `inner` is `outer` or lies below it (both canonical).
bool contains_path(const fs::path& outer, const fs::path& inner) {
    const fs::path relative = inner.lexically_relative(outer);
    return !relative.empty() && *relative.begin() != "..";
}

// A seed given its torrent must at least hold every file at the right size;
// libtorrent would otherwise find out only when a peer asks for a piece.
Status check_files_present(const fs::path& root, const lt::torrent_info& info, const rollout::BundleId& id) {
    const lt::file_storage& files = info.files();
    for (const lt::file_index_t index : files.file_range()) {
        if (files.pad_file_at(index)) continue;
        const std::string relative = bundle_relative_path(files, index);
        std::error_code ec;
        const std::uintmax_t size = fs::file_size(root / relative, ec);
        const auto expected = static_cast<std::uintmax_t>(files.file_size(index));
        if (ec || size != expected) {
            return fail(Errc::invalid_argument,
                        root.string() + " does not hold bundle " + rollout::short_hex(id) + ": " + relative
                            + (ec ? " is missing (" + ec.message() + ")"
                                  : " has " + std::to_string(size) + " bytes, not " + std::to_string(expected)));
        }
    }
    return {};
}

}  // namespace

std::string_view to_string(BundleRole role) {
    switch (role) {
        case BundleRole::seed:
            return "seed";
        case BundleRole::fetch:
            return "fetch";
    }
    return "unknown";
}

std::string_view to_string(BundlePhase phase) {
    switch (phase) {
        case BundlePhase::metadata:
            return "metadata";
        case BundlePhase::downloading:
            return "downloading";
        case BundlePhase::verifying:
            return "verifying";
        case BundlePhase::seeding:
            return "seeding";
    }
    return "unknown";
}

// ---------------------------------------------------------------- Impl: lifetime

Swarm::Impl::Impl(boost::asio::any_io_executor executor, SwarmConfig config, SwarmEvents events)
    : executor_(std::move(executor)),
      config_(std::move(config)),
      events_(std::move(events)),
      resume_(config_.state_dir / "resume"),
      budget_(config_.seed_budget_bytes),
      progress_timer_(executor_),
      resume_timer_(executor_) {}

Status Swarm::Impl::start_session() {
    if (auto opened = resume_.open(); !opened) return opened;
    lt::session_params params(make_settings_pack(config_));
    // posix I/O instead of libtorrent 2.0's mmap default: mmap'd payload
    // counts towards resident memory and grows with the bundle, and an agent
    // must stay small. Agents move tens of MB/s at most; pread/pwrite keeps up.
    params.disk_io_constructor = lt::posix_disk_io_constructor;
    params.extensions.push_back(make_traffic_plugin(traffic_));
    try {
        session_ = std::make_unique<lt::session>(std::move(params));
        apply_peer_class_policy(*session_);
    } catch (const std::exception& e) {
        return fail(Errc::io, std::string("cannot start the BitTorrent session: ") + e.what());
    }

    // Listening happens on libtorrent's thread; wait for its verdict so a bad
    // address is an error here, not a silent swarm nobody can reach.
    const std::string where = config_.listen_address + ":" + std::to_string(config_.listen_port);
    const auto deadline = std::chrono::steady_clock::now() + 2s;
    std::optional<Error> failure;
    bool listening = false;
    while (!listening && !failure && std::chrono::steady_clock::now() < deadline) {
        session_->wait_for_alert(
            std::chrono::duration_cast<lt::time_duration>(deadline - std::chrono::steady_clock::now()));
        std::vector<lt::alert*> alerts;
        session_->pop_alerts(&alerts);
        for (const lt::alert* alert : alerts) {
            if (const auto* ok = lt::alert_cast<lt::listen_succeeded_alert>(alert)) {
                if (ok->socket_type != lt::socket_type_t::tcp) continue;
                endpoint_ = Endpoint(ok->address, static_cast<std::uint16_t>(ok->port));
                listening = true;
            } else if (const auto* bad = lt::alert_cast<lt::listen_failed_alert>(alert)) {
                if (bad->socket_type != lt::socket_type_t::tcp) continue;
                failure = Error(Errc::io, "cannot listen on " + where + ": " + bad->error.message());
            }
        }
    }
    if (!listening) {
        session_.reset();
        return fail(
            failure.value_or(Error(Errc::timeout, "the session did not start listening on " + where + " within 2 s")));
    }

    // The notify callback runs on libtorrent's thread and must not block or
    // touch the session: it only posts a drain to our executor.
    std::weak_ptr<Impl> weak = weak_from_this();
    auto post_drain = [weak, executor = executor_] {
        boost::asio::post(executor, [weak] {
            if (auto self = weak.lock()) self->drain();
        });
    };
    session_->set_alert_notify(post_drain);
    post_drain();  // whatever queued up before the callback was set
    schedule_progress();
    schedule_resume_save();
    spdlog::info("swarm listening on {}", to_string(endpoint_));
    return {};
}

void Swarm::Impl::schedule_progress() {
    progress_timer_.expires_after(config_.progress_interval);
    progress_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
        auto self = weak.lock();
        if (ec || !self || self->stopped_) return;
        // Answered by one state_update_alert listing the bundles that changed.
        self->session_->post_torrent_updates();
        for (auto& [id, bundle] : self->bundles_) {
            if (!bundle.super_seeding) continue;
            try {
                self->check_initial_seeding(bundle);
            } catch (const std::exception& e) {
                spdlog::warn("bundle {}: checking initial seeding: {}", rollout::short_hex(id), e.what());
            }
        }
        self->schedule_progress();
    });
}

void Swarm::Impl::schedule_resume_save() {
    resume_timer_.expires_after(config_.resume_interval);
    resume_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
        auto self = weak.lock();
        if (ec || !self || self->stopped_) return;
        for (auto& [id, bundle] : self->bundles_) {
            if (bundle.role != BundleRole::fetch || bundle.phase == BundlePhase::seeding) continue;
            try {
                self->request_resume_save(bundle);
            } catch (const std::exception& e) {
                // Nothing may escape into the caller's event loop.
                spdlog::warn("bundle {}: cannot save resume data: {}", rollout::short_hex(id), e.what());
            }
        }
        self->schedule_resume_save();
    });
}

Status Swarm::Impl::check_running() const {
    if (stopped_ || !session_) return fail(Errc::state, "the swarm is stopped");
    return {};
}

SwarmBundle* Swarm::Impl::find(const rollout::BundleId& id) {
    auto it = bundles_.find(id);
    return it == bundles_.end() ? nullptr : &it->second;
}

Status Swarm::Impl::add_bundle(SwarmBundle bundle, lt::add_torrent_params params) {
    lt::error_code ec;
    params.flags |= lt::torrent_flags::duplicate_is_error;
    lt::torrent_handle handle = session_->add_torrent(std::move(params), ec);
    if (ec) {
        return fail(Errc::io,
                    "cannot add bundle " + rollout::short_hex(bundle.id) + " to the session: " + ec.message());
    }
    bundle.handle = handle;
    bundle.generation = next_generation_++;
    ids_[handle] = bundle.id;
    const rollout::BundleId id = bundle.id;
    bundles_.insert_or_assign(id, std::move(bundle));
    return {};
}

void Swarm::Impl::drop_bundle(rollout::BundleId id) {
    auto it = bundles_.find(id);
    if (it == bundles_.end()) return;
    try {
        session_->remove_torrent(it->second.handle);
    } catch (const std::exception& e) {
        spdlog::warn("bundle {}: removing it from the session: {}", rollout::short_hex(id), e.what());
    }
    ids_.erase(it->second.handle);
    bundles_.erase(it);
    budget_.release(id);
}

void Swarm::Impl::evict(std::vector<rollout::BundleId> ids) {
    for (const rollout::BundleId& id : ids) {
        spdlog::info("bundle {}: no longer seeded, to stay within the seeding budget", rollout::short_hex(id));
        drop_bundle(id);
        if (auto removed = resume_.remove(id); !removed) spdlog::warn("{}", removed.error().message());
        post_evicted(id);
    }
}

BundleProgress Swarm::Impl::snapshot(const SwarmBundle& bundle, const lt::torrent_status& status) const {
    BundleProgress progress;
    progress.id = bundle.id;
    progress.role = bundle.role;
    progress.phase = bundle.phase;
    progress.bytes_total = status.has_metadata ? bundle.total_bytes : 0;
    progress.bytes_done = static_cast<std::uint64_t>(std::max<std::int64_t>(status.total_wanted_done, 0));
    progress.peers = status.num_peers;
    progress.seeds = status.num_seeds;
    progress.download_rate = static_cast<std::uint64_t>(std::max(status.download_payload_rate, 0));
    progress.upload_rate = static_cast<std::uint64_t>(std::max(status.upload_payload_rate, 0));
    progress.downloaded = static_cast<std::uint64_t>(std::max<std::int64_t>(status.total_payload_download, 0));
    progress.uploaded = static_cast<std::uint64_t>(std::max<std::int64_t>(status.total_payload_upload, 0));
    progress.hash_failures = bundle.hash_failures;
    return progress;
}

void Swarm::Impl::stop() {
    if (stopped_) return;
    stopped_ = true;
    progress_timer_.cancel();
    resume_timer_.cancel();
    cancel_verification_->store(true);
    if (session_) {
        // Resume data first, so a restart continues where we are now. Bounded:
        // what is not saved in time was saved by the periodic timer before.
        int outstanding = 0;
        for (auto& [id, bundle] : bundles_) {
            if (bundle.role != BundleRole::fetch) continue;
            try {
                bundle.handle.save_resume_data(lt::torrent_handle::save_info_dict
                                               | lt::torrent_handle::only_if_modified);
                ++outstanding;
            } catch (const std::exception& e) {
                spdlog::warn("bundle {}: cannot save resume data: {}", rollout::short_hex(id), e.what());
            }
        }
        const auto deadline = std::chrono::steady_clock::now() + 1200ms;
        while (outstanding > 0 && std::chrono::steady_clock::now() < deadline) {
            session_->wait_for_alert(
                std::chrono::duration_cast<lt::time_duration>(deadline - std::chrono::steady_clock::now()));
            std::vector<lt::alert*> alerts;
            session_->pop_alerts(&alerts);
            for (const lt::alert* alert : alerts) {
                if (const auto* saved = lt::alert_cast<lt::save_resume_data_alert>(alert)) {
                    on_resume_data(saved->params);
                    --outstanding;
                } else if (lt::alert_cast<lt::save_resume_data_failed_alert>(alert) != nullptr) {
                    --outstanding;
                }
            }
        }
        if (outstanding > 0) spdlog::warn("swarm stop: {} resume saves did not finish in time", outstanding);
        session_->set_alert_notify([] {});
        // abort() returns at once; the proxy's destructor waits for the
        // network thread, which has no tracker or DHT to say goodbye to.
        lt::session_proxy proxy = session_->abort();
        session_.reset();
    }
    verify_pool_.join();
    bundles_.clear();
    ids_.clear();
}

// ---------------------------------------------------------------- Swarm: calls

Swarm::Swarm(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Swarm::~Swarm() {
    stop();
}

Result<std::unique_ptr<Swarm>> Swarm::start(boost::asio::any_io_executor executor, SwarmConfig config,
                                            SwarmEvents events) {
    if (auto valid = validate(config); !valid) return fail(valid.error().with_context("starting the swarm"));
    try {
        auto impl = std::make_shared<Impl>(std::move(executor), std::move(config), std::move(events));
        if (auto started = impl->start_session(); !started) return fail(started.error());
        return std::unique_ptr<Swarm>(new Swarm(std::move(impl)));
    } catch (const std::exception& e) {
        return fail(Errc::internal, std::string("starting the swarm: ") + e.what());
    }
}

Endpoint Swarm::endpoint() const {
    return impl_->endpoint_;
}

void Swarm::stop() {
    impl_->stop();
}

Result<rollout::BundleId> Swarm::seed(const fs::path& directory, SeedOptions options) {
    Impl& s = *impl_;
    if (auto running = s.check_running(); !running) return fail(running.error());
    std::error_code ec;
    const fs::path root = fs::canonical(directory, ec);
    if (ec) return fail(Errc::not_found, "cannot seed " + directory.string() + ": " + ec.message());

    auto torrent = options.torrent.empty() ? build_bundle_torrent(root) : parse_bundle_torrent(options.torrent);
    if (!torrent) return fail(torrent.error().with_context("seeding " + root.string()));
    const rollout::BundleId id = torrent->id;
    auto info = load_torrent_info(torrent->torrent);
    if (!info) return fail(info.error());
    if (!options.torrent.empty()) {
        if (auto present = check_files_present(root, **info, id); !present) return fail(present.error());
    }

    if (SwarmBundle* existing = s.find(id)) {
        if (existing->role == BundleRole::seed || existing->phase == BundlePhase::seeding) {
            if (s.budget_.contains(id)) (void)s.budget_.set_pinned(id, options.pinned);
            return id;
        }
        return fail(Errc::already_exists,
                    "bundle " + rollout::short_hex(id) + " is being fetched; it seeds once ready");
    }
    auto evicted = s.budget_.admit(id, torrent->total_bytes, options.pinned, SeedBudget::Clock::now());
    if (!evicted) return fail(evicted.error().with_context("seeding " + root.string()));

    lt::add_torrent_params params;
    params.ti = std::const_pointer_cast<lt::torrent_info>(*info);
    params.save_path = root.string();
    params.renamed_files = bundle_renames((*info)->files());
    // Upload mode: a seed never downloads, so the caller's directory is never
    // written to, not even to repair it after a failed hash check.
    params.flags = (params.flags & ~managed_flags) | lt::torrent_flags::seed_mode | lt::torrent_flags::upload_mode;
    if (options.super_seed) params.flags |= lt::torrent_flags::super_seeding;
    params.peers = std::move(options.peers);

    SwarmBundle bundle;
    bundle.id = id;
    bundle.super_seeding = options.super_seed;
    bundle.role = BundleRole::seed;
    bundle.phase = BundlePhase::seeding;
    bundle.directory = root;
    bundle.total_bytes = torrent->total_bytes;
    auto added =
        guarded("seeding " + root.string(), [&] { return s.add_bundle(std::move(bundle), std::move(params)); });
    if (!added) {
        s.budget_.release(id);
        return fail(added.error());
    }
    s.evict(*evicted);
    return id;
}

Status Swarm::fetch(const rollout::BundleId& id, const fs::path& staging, FetchOptions options) {
    Impl& s = *impl_;
    if (auto running = s.check_running(); !running) return running;
    const std::string name = "bundle " + rollout::short_hex(id);
    if (s.find(id) != nullptr) return fail(Errc::already_exists, name + " is already in the swarm");
    std::error_code ec;
    fs::create_directories(staging, ec);
    if (ec) return fail(Errc::io, "cannot create staging directory " + staging.string() + ": " + ec.message());
    const fs::path root = fs::canonical(staging, ec);
    if (ec) return fail(Errc::io, "cannot open staging directory " + staging.string() + ": " + ec.message());
    const fs::path state = fs::weakly_canonical(s.resume_.directory(), ec);
    if (!ec && (contains_path(root, state) || contains_path(state, root))) {
        // Resume data inside staging would fail the verification; staging
        // inside the state directory is a caller mistake of the same kind.
        return fail(Errc::invalid_argument,
                    "staging directory " + root.string() + " overlaps the swarm state directory");
    }

    lt::add_torrent_params params;
    auto blob = s.resume_.load(id);
    if (!blob) {
        spdlog::warn("{}: {}; starting over", name, blob.error().message());
    } else if (blob->has_value()) {
        lt::error_code resume_error;
        const std::string& bytes = **blob;
        params = lt::read_resume_data(lt::span<const char>(bytes.data(), static_cast<std::ptrdiff_t>(bytes.size())),
                                      resume_error);
        if (resume_error || params.info_hashes.v2 != to_sha256(id)) {
            spdlog::warn("{}: unusable resume data ({}); starting over", name,
                         resume_error ? resume_error.message() : "it is for another bundle");
            (void)s.resume_.remove(id);
            params = lt::add_torrent_params();
        }
    }
    if (!options.torrent.empty()) {
        auto torrent = parse_bundle_torrent(options.torrent);
        if (!torrent) return fail(torrent.error().with_context("fetching " + name));
        if (torrent->id != id) {
            return fail(Errc::untrusted,
                        "the torrent given for " + name + " is for bundle " + rollout::short_hex(torrent->id));
        }
        auto info = load_torrent_info(torrent->torrent);
        if (!info) return fail(info.error());
        params.ti = std::const_pointer_cast<lt::torrent_info>(*info);
    }
    // Only the v2 hash: peers answer ut_metadata for it, and the metadata
    // they send must hash to it, so it is authenticated by the signed id.
    params.info_hashes = lt::info_hash_t(to_sha256(id));
    params.save_path = root.string();
    params.flags &= ~managed_flags;
    // Upload mode requests nothing but keeps the connections and the
    // metadata exchange going (close_redundant_connections is off, see
    // swarm_settings.cpp, so peers do not drop us as upload-only).
    if (options.hold) params.flags |= lt::torrent_flags::upload_mode;

    if (params.ti) {
        // Given or from resume data: the same check on_metadata makes.
        if (auto layout = check_bundle_layout(params.ti->files()); !layout)
            return fail(layout.error().with_context("fetching " + name));
    }

    SwarmBundle bundle;
    bundle.id = id;
    bundle.role = BundleRole::fetch;
    bundle.directory = root;
    bundle.pin_when_ready = options.pin_when_ready;
    bundle.held = options.hold;
    if (params.ti) {
        params.renamed_files = bundle_renames(params.ti->files());
        bundle.total_bytes = payload_bytes(params.ti->files());
        bundle.phase = BundlePhase::downloading;
    } else {
        // Where files go is decided when the metadata arrives (on_metadata).
        params.renamed_files.clear();
        bundle.phase = BundlePhase::metadata;
    }
    params.peers.insert(params.peers.end(), options.peers.begin(), options.peers.end());
    return guarded("fetching " + name, [&] { return s.add_bundle(std::move(bundle), std::move(params)); });
}

Status Swarm::release(const rollout::BundleId& id) {
    Impl& s = *impl_;
    if (auto running = s.check_running(); !running) return running;
    SwarmBundle* bundle = s.find(id);
    if (bundle == nullptr) return fail(Errc::not_found, "bundle " + rollout::short_hex(id) + " is not in the swarm");
    if (!bundle->held) return {};
    return guarded("releasing " + rollout::short_hex(id), [&]() -> Status {
        bundle->handle.unset_flags(lt::torrent_flags::upload_mode);
        bundle->held = false;
        return {};
    });
}

Status Swarm::add_peers(const rollout::BundleId& id, std::span<const Endpoint> peers) {
    Impl& s = *impl_;
    if (auto running = s.check_running(); !running) return running;
    SwarmBundle* bundle = s.find(id);
    if (bundle == nullptr) return fail(Errc::not_found, "bundle " + rollout::short_hex(id) + " is not in the swarm");
    return guarded("adding peers", [&]() -> Status {
        // TCP only (no uTP flag), matching the session's transports.
        for (const Endpoint& peer : peers)
            bundle->handle.connect_peer(peer, {}, {});
        return {};
    });
}

Status Swarm::remove(const rollout::BundleId& id) {
    Impl& s = *impl_;
    if (auto running = s.check_running(); !running) return running;
    if (s.find(id) == nullptr)
        return fail(Errc::not_found, "bundle " + rollout::short_hex(id) + " is not in the swarm");
    s.drop_bundle(id);
    return s.resume_.remove(id);
}

Status Swarm::set_pinned(const rollout::BundleId& id, bool pinned) {
    Impl& s = *impl_;
    if (auto running = s.check_running(); !running) return running;
    SwarmBundle* bundle = s.find(id);
    if (bundle == nullptr) return fail(Errc::not_found, "bundle " + rollout::short_hex(id) + " is not in the swarm");
    if (bundle->phase != BundlePhase::seeding) {
        bundle->pin_when_ready = pinned;
        return {};
    }
    return s.budget_.set_pinned(id, pinned);
}

Result<BundleProgress> Swarm::progress(const rollout::BundleId& id) const {
    Impl& s = *impl_;
    if (auto running = s.check_running(); !running) return fail(running.error());
    SwarmBundle* bundle = s.find(id);
    if (bundle == nullptr) return fail(Errc::not_found, "bundle " + rollout::short_hex(id) + " is not in the swarm");
    return guarded("reading progress",
                   [&]() -> Result<BundleProgress> { return s.snapshot(*bundle, bundle->handle.status()); });
}

std::vector<rollout::BundleId> Swarm::bundles() const {
    std::vector<rollout::BundleId> ids;
    for (const auto& [id, bundle] : impl_->bundles_)
        ids.push_back(id);
    return ids;
}

SwarmTraffic Swarm::traffic() const {
    return impl_->traffic_->snapshot();
}

void Swarm::set_origins(std::vector<boost::asio::ip::address> origins) {
    impl_->traffic_->set_origins(std::move(origins));
}

}  // namespace patchwave::net
