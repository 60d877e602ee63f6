// What libtorrent reports, turned into bundle state and events: one
// handle_alert that alert_casts, drained on the caller's executor.
#include <algorithm>
#include <exception>
#include <fstream>
#include <functional>

#include <boost/asio/post.hpp>
#include <libtorrent/alert_types.hpp>
#include <libtorrent/error_code.hpp>
#include <libtorrent/peer_info.hpp>
#include <libtorrent/write_resume_data.hpp>
#include <spdlog/spdlog.h>

#include "net/bundle_torrent.hpp"
#include "net/swarm_impl.hpp"
#include "net/torrent_layout.hpp"

namespace patchwave::net {

namespace fs = std::filesystem;
namespace lt = libtorrent;

namespace {

std::string name_of(const rollout::BundleId& id) {
    return "bundle " + rollout::short_hex(id);
}

// Zero-length files have no pieces; libtorrent 2.0.8 creates them itself when
// the torrent completes, but verification needs them, so make sure rather
// than depend on when (or whether, in another version) that happens.
Status create_empty_files(const fs::path& root, const lt::file_storage& files) {
    for (const lt::file_index_t index : files.file_range()) {
        if (files.pad_file_at(index) || files.file_size(index) != 0) continue;
        const fs::path path = root / bundle_relative_path(files, index);
        std::error_code ec;
        if (fs::exists(path, ec)) continue;
        fs::create_directories(path.parent_path(), ec);
        std::ofstream create(path, std::ios::binary);
        if (!create) return fail(Errc::io, "cannot create empty file " + path.string());
    }
    return {};
}

// The torrent carries each file's executable attribute (BEP 47 "x"), and the
// bundle id covers it; the posix disk back-end writes plain files, so give
// every file the mode the torrent says before verification re-hashes it.
Status apply_file_modes(const fs::path& root, const lt::file_storage& files) {
    for (const lt::file_index_t index : files.file_range()) {
        if (files.pad_file_at(index)) continue;
        const fs::path path = root / bundle_relative_path(files, index);
        const bool executable = (files.file_flags(index) & lt::file_storage::flag_executable) != lt::file_flags_t{};
        std::error_code ec;
        fs::permissions(path, executable ? fs::perms(0755) : fs::perms(0644), fs::perm_options::replace, ec);
        if (ec) return fail(Errc::io, "cannot set the mode of " + path.string() + ": " + ec.message());
    }
    return {};
}

// Removes empty directories below `root`, deepest first: libtorrent leaves
// the torrent's root folder behind when files are renamed out of it, and a
// bundle never contains an empty directory.
void remove_empty_directories(const fs::path& root) {
    std::vector<fs::path> directories;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->is_directory(ec) && !it->is_symlink(ec)) directories.push_back(it->path());
    }
    std::sort(directories.begin(), directories.end(), std::greater<>());
    for (const fs::path& directory : directories) {
        if (fs::is_empty(directory, ec)) fs::remove(directory, ec);
    }
}

// Removes everything inside `directory`, keeping the directory itself (the caller's).
void clear_directory(const fs::path& directory) {
    std::error_code ec;
    for (fs::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code remove_error;
        fs::remove_all(it->path(), remove_error);
        if (remove_error) spdlog::error("cannot delete {}: {}", it->path().string(), remove_error.message());
    }
}

}  // namespace

void Swarm::Impl::drain() {
    if (stopped_ || !session_) return;
    std::vector<lt::alert*> alerts;
    session_->pop_alerts(&alerts);
    for (const lt::alert* alert : alerts) {
        try {
            handle_alert(alert);
        } catch (const std::exception& e) {
            // A handle that went invalid under us; the alert is stale, the loop goes on.
            spdlog::warn("swarm: handling \"{}\": {}", alert->message(), e.what());
        }
    }
}

SwarmBundle* Swarm::Impl::bundle_for(const lt::torrent_handle& handle) {
    auto it = ids_.find(handle);
    return it == ids_.end() ? nullptr : find(it->second);
}

void Swarm::Impl::handle_alert(const lt::alert* alert) {
    if (const auto* update = lt::alert_cast<lt::state_update_alert>(alert)) {
        on_state_update(update->status);
    } else if (const auto* saved = lt::alert_cast<lt::save_resume_data_alert>(alert)) {
        on_resume_data(saved->params);
    } else if (const auto* unsaved = lt::alert_cast<lt::save_resume_data_failed_alert>(alert)) {
        if (unsaved->error != lt::errors::resume_data_not_modified) spdlog::warn("{}", unsaved->message());
    } else if (const auto* metadata = lt::alert_cast<lt::metadata_received_alert>(alert)) {
        if (SwarmBundle* bundle = bundle_for(metadata->handle)) on_metadata(*bundle);
    } else if (const auto* not_renamed = lt::alert_cast<lt::file_rename_failed_alert>(alert)) {
        if (SwarmBundle* bundle = bundle_for(not_renamed->handle)) {
            fail_bundle(
                bundle->id,
                Error(Errc::io, "cannot place file " + std::to_string(static_cast<int>(not_renamed->index)) + " in "
                                    + bundle->directory.string() + ": " + not_renamed->error.message()),
                false);
        }
    } else if (const auto* finished = lt::alert_cast<lt::torrent_finished_alert>(alert)) {
        if (SwarmBundle* bundle = bundle_for(finished->handle)) on_finished(*bundle);
    } else if (const auto* checked = lt::alert_cast<lt::torrent_checked_alert>(alert)) {
        // Resume data that says "complete" may not produce a finished alert.
        SwarmBundle* bundle = bundle_for(checked->handle);
        if (bundle != nullptr && checked->handle.status().is_finished) on_finished(*bundle);
    } else if (const auto* state = lt::alert_cast<lt::state_changed_alert>(alert)) {
        // A seed-mode seed hashes each piece the first time a peer asks for
        // it; a failure makes libtorrent recheck everything and end up short.
        SwarmBundle* bundle = bundle_for(state->handle);
        if (bundle != nullptr && bundle->role == BundleRole::seed && state->state == lt::torrent_status::downloading) {
            fail_bundle(bundle->id,
                        Error(Errc::untrusted, bundle->directory.string() + " no longer matches " + name_of(bundle->id)
                                                   + ": a piece failed its hash check when a peer asked for it; "
                                                     "stopped seeding it (nothing corrupt was sent)"),
                        false);
        }
    } else if (const auto* hash_failed = lt::alert_cast<lt::hash_failed_alert>(alert)) {
        if (SwarmBundle* bundle = bundle_for(hash_failed->handle)) {
            ++bundle->hash_failures;
            spdlog::warn(
                "{}: piece {} failed its hash check; its data is discarded and the sender loses "
                "trust",
                name_of(bundle->id), static_cast<int>(hash_failed->piece_index));
        }
    } else if (const auto* ban = lt::alert_cast<lt::peer_ban_alert>(alert)) {
        block_address(ban->endpoint.address());
    } else if (const auto* error = lt::alert_cast<lt::torrent_error_alert>(alert)) {
        if (SwarmBundle* bundle = bundle_for(error->handle)) {
            const std::string file = error->filename();
            fail_bundle(bundle->id, Error(Errc::io, error->error.message() + (file.empty() ? "" : " (" + file + ")")),
                        false);
        }
    } else if (const auto* file_error = lt::alert_cast<lt::file_error_alert>(alert)) {
        if (SwarmBundle* bundle = bundle_for(file_error->handle)) {
            fail_bundle(bundle->id,
                        Error(Errc::io, std::string(lt::operation_name(file_error->op)) + " " + file_error->filename()
                                            + ": " + file_error->error.message()),
                        false);
        }
    } else if (const auto* listen = lt::alert_cast<lt::listen_failed_alert>(alert)) {
        spdlog::error("swarm: {}", listen->message());
    } else if (const auto* metadata_failed = lt::alert_cast<lt::metadata_failed_alert>(alert)) {
        // A peer sent metadata that does not hash to the id; libtorrent asks others.
        spdlog::warn("swarm: {}", metadata_failed->message());
    } else if (alert->category() & (lt::alert_category::error | lt::alert_category::performance_warning)) {
        spdlog::debug("swarm: {}", alert->message());
    }
}

void Swarm::Impl::block_address(const lt::address& address) {
    // libtorrent bans the peer entry, which with several connections per IP
    // is address *and port*: the same peer connecting again from another
    // port would be a stranger. v2 hashes name the exact sender of a bad
    // block, so blocking its whole address for this session is safe.
    spdlog::error("swarm: peer {} sent data that failed its hash check; blocking its address", address.to_string());
    blocked_.add_rule(address, address, lt::ip_filter::blocked);
    session_->set_ip_filter(blocked_);
}

void Swarm::Impl::on_metadata(SwarmBundle& bundle) {
    if (bundle.phase != BundlePhase::metadata) return;
    const std::shared_ptr<const lt::torrent_info> info = bundle.handle.torrent_file();
    if (!info) return;
    // The metadata hashes to the signed id, but whoever made the bundle may
    // still have put a symlink or a "../" path in it: nothing of it is written.
    if (auto layout = check_bundle_layout(info->files()); !layout) {
        fail_bundle(bundle.id, layout.error().with_context(name_of(bundle.id) + " refused"), true);
        return;
    }
    bundle.total_bytes = 0;
    for (const lt::file_index_t index : info->files().file_range()) {
        if (!info->files().pad_file_at(index))
            bundle.total_bytes += static_cast<std::uint64_t>(info->files().file_size(index));
    }
    // Place every file directly in the staging directory. libtorrent may have
    // written a first piece under "<root name>/" already; its disk back-end
    // orders the rename after that write and moves the file. (Holding pieces
    // back with upload mode instead makes the seed drop us as a redundant
    // upload-only peer, costing a reconnect.)
    for (const auto& [index, path] : bundle_renames(info->files()))
        bundle.handle.rename_file(index, path);
    bundle.phase = BundlePhase::downloading;
    // Keep the metadata: a restart then needs no peer to learn it again.
    request_resume_save(bundle);
}

void Swarm::Impl::on_finished(SwarmBundle& bundle) {
    if (bundle.role != BundleRole::fetch || bundle.phase != BundlePhase::downloading) return;
    bundle.phase = BundlePhase::verifying;
    request_resume_save(bundle);
    const std::shared_ptr<const lt::torrent_info> info = bundle.handle.torrent_file();
    remove_empty_directories(bundle.directory);
    if (info) {
        if (auto created = create_empty_files(bundle.directory, info->files()); !created) {
            fail_bundle(bundle.id, created.error(), false);
            return;
        }
        if (auto moded = apply_file_modes(bundle.directory, info->files()); !moded) {
            fail_bundle(bundle.id, moded.error(), false);
            return;
        }
    }
    // Re-hash the staging directory from scratch, independent of what
    // libtorrent believes, off the event loop; the result comes back here.
    boost::asio::post(verify_pool_,
                      [weak = weak_from_this(), executor = executor_, id = bundle.id, generation = bundle.generation,
                       directory = bundle.directory, cancel = cancel_verification_] {
                          Status result = verify_bundle_directory(directory, id, cancel.get());
                          boost::asio::post(executor, [weak, id, generation, result = std::move(result)] {
                              if (auto self = weak.lock()) self->on_verified(id, generation, result);
                          });
                      });
}

void Swarm::Impl::on_verified(rollout::BundleId id, std::uint64_t generation, const Status& result) {
    SwarmBundle* bundle = find(id);
    if (stopped_ || bundle == nullptr || bundle->generation != generation) return;
    if (!result) {
        fail_bundle(id, result.error().with_context(name_of(id) + " downloaded but failed verification"), true);
        return;
    }
    bundle->phase = BundlePhase::seeding;
    const fs::path directory = bundle->directory;
    spdlog::info("{}: verified in {}", name_of(id), directory.string());
    post_ready(id, directory);
    auto evicted = budget_.admit(id, bundle->total_bytes, bundle->pin_when_ready, SeedBudget::Clock::now());
    if (!evicted) {
        spdlog::warn("{}: ready, but not seeded: {}", name_of(id), evicted.error().message());
        drop_bundle(id);
        post_evicted(id);
        return;
    }
    evict(*evicted);
}

void Swarm::Impl::on_state_update(const std::vector<lt::torrent_status>& statuses) {
    const auto now = SeedBudget::Clock::now();
    for (const lt::torrent_status& status : statuses) {
        SwarmBundle* bundle = bundle_for(status.handle);
        if (bundle == nullptr) continue;
        if (status.total_payload_upload > bundle->last_uploaded) {
            bundle->last_uploaded = status.total_payload_upload;
            budget_.touch(bundle->id, now);
        }
        post_progress(snapshot(*bundle, status));
    }
}

void Swarm::Impl::check_initial_seeding(SwarmBundle& bundle) {
    // A seed has no piece picker, so torrent_status::distributed_copies is
    // -1: keep the union of what peers have had instead. It counts peers
    // that left too: the copy went out, and whatever the remaining peers
    // lack the origin serves as an ordinary seed once this ends.
    const std::shared_ptr<const lt::torrent_info> info = bundle.handle.torrent_file();
    if (!info) return;
    if (bundle.pieces_out.size() != info->num_pieces()) bundle.pieces_out.resize(info->num_pieces(), false);
    std::vector<lt::peer_info> peers;
    bundle.handle.get_peer_info(peers);
    for (const lt::peer_info& peer : peers) {
        if (peer.pieces.size() != bundle.pieces_out.size()) continue;
        for (const lt::piece_index_t piece : info->piece_range()) {
            if (peer.pieces[piece]) bundle.pieces_out.set_bit(piece);
        }
    }
    if (!bundle.pieces_out.all_set()) return;
    // Every piece went out: the peers can finish from each other, and the
    // origin now serves whatever is asked like any seed (to a latecomer a
    // super-seeding origin looks like a peer with two pieces).
    bundle.super_seeding = false;
    bundle.pieces_out.clear();
    bundle.handle.unset_flags(lt::torrent_flags::super_seeding);
    spdlog::info("{}: one full copy is out; initial seeding ends", name_of(bundle.id));
}

void Swarm::Impl::request_resume_save(SwarmBundle& bundle) {
    bundle.handle.save_resume_data(lt::torrent_handle::save_info_dict | lt::torrent_handle::only_if_modified);
}

void Swarm::Impl::on_resume_data(const lt::add_torrent_params& params) {
    const rollout::BundleId id = to_bundle_id(params.info_hashes.v2);
    const SwarmBundle* bundle = find(id);
    // A bundle removed meanwhile must not get its resume file back.
    if (bundle == nullptr || bundle->role != BundleRole::fetch) return;
    const std::vector<char> blob = lt::write_resume_data_buf(params);
    if (auto saved = resume_.save(id, std::string_view(blob.data(), blob.size())); !saved) {
        spdlog::warn("{}: {}", name_of(id), saved.error().message());
    }
}

void Swarm::Impl::fail_bundle(rollout::BundleId id, const Error& error, bool delete_staging) {
    SwarmBundle* bundle = find(id);
    if (bundle == nullptr) return;
    const fs::path directory = bundle->directory;
    const bool fetched = bundle->role == BundleRole::fetch;
    spdlog::error("{}: {}", name_of(id), error.message());
    drop_bundle(id);
    if (fetched) (void)resume_.remove(id);
    // Only a fetch's staging is ours to empty; a seed's directory is the caller's.
    if (delete_staging && fetched) clear_directory(directory);
    post_failed(id, error);
}

// ---------------------------------------------------------------- events

void Swarm::Impl::post_progress(const BundleProgress& progress) {
    if (!events_.progress) return;
    boost::asio::post(executor_, [weak = weak_from_this(), callback = events_.progress, progress] {
        if (auto self = weak.lock(); self && !self->stopped_) callback(progress);
    });
}

void Swarm::Impl::post_ready(const rollout::BundleId& id, const fs::path& directory) {
    if (!events_.ready) return;
    boost::asio::post(executor_, [weak = weak_from_this(), callback = events_.ready, id, directory] {
        if (auto self = weak.lock(); self && !self->stopped_) callback(id, directory);
    });
}

void Swarm::Impl::post_failed(const rollout::BundleId& id, const Error& error) {
    if (!events_.failed) return;
    boost::asio::post(executor_, [weak = weak_from_this(), callback = events_.failed, id, error] {
        if (auto self = weak.lock(); self && !self->stopped_) callback(id, error);
    });
}

void Swarm::Impl::post_evicted(const rollout::BundleId& id) {
    if (!events_.evicted) return;
    boost::asio::post(executor_, [weak = weak_from_this(), callback = events_.evicted, id] {
        if (auto self = weak.lock(); self && !self->stopped_) callback(id);
    });
}

}  // namespace patchwave::net
