#include "net/swarm_settings.hpp"

#include <boost/asio/ip/address.hpp>
#include <libtorrent/alert.hpp>
#include <libtorrent/ip_filter.hpp>
#include <libtorrent/peer_class.hpp>

#include "common/error.hpp"

namespace patchwave::net {

namespace lt = libtorrent;
namespace asio = boost::asio;

namespace {

std::string listen_interface(const SwarmConfig& config) {
    boost::system::error_code ec;
    const asio::ip::address address = asio::ip::make_address(config.listen_address, ec);
    const std::string host = !ec && address.is_v6() ? "[" + config.listen_address + "]" : config.listen_address;
    return host + ":" + std::to_string(config.listen_port);
}

}  // namespace

lt::settings_pack make_settings_pack(const SwarmConfig& config) {
    using sp = lt::settings_pack;
    sp pack;
    // peer: for peer_ban_alert (a peer that sent data failing its hash check).
    const lt::alert_category_t alerts = lt::alert_category::error | lt::alert_category::status
                                        | lt::alert_category::storage | lt::alert_category::peer
                                        | lt::alert_category::performance_warning;
    pack.set_int(sp::alert_mask, static_cast<int>(static_cast<std::uint32_t>(alerts)));
    // Resume-data and state alerts must never be dropped for a busy loop.
    pack.set_int(sp::alert_queue_size, 10000);
    pack.set_str(sp::user_agent, "Patchwave/0.1");
    pack.set_str(sp::peer_fingerprint, "-PW0001-");

    pack.set_str(sp::listen_interfaces, listen_interface(config));
    // Connect from the address we listen on: peers (and the rate classes)
    // then see one address per agent, and agents sharing a machine stay apart.
    boost::system::error_code ec;
    if (const auto address = asio::ip::make_address(config.listen_address, ec); !ec && !address.is_unspecified()) {
        pack.set_str(sp::outgoing_interfaces, config.listen_address);
    }

    // A private fleet: peers come from gossip, not from discovery or routers.
    pack.set_bool(sp::enable_dht, false);
    pack.set_bool(sp::enable_lsd, false);
    pack.set_bool(sp::enable_upnp, false);
    pack.set_bool(sp::enable_natpmp, false);
    // TCP only. uTP's LEDBAT yields to any queueing delay, so on a shaped or
    // busy link it backs off exactly when a patch must go out; one transport
    // also makes the rate classes and the benchmark predictable.
    pack.set_bool(sp::enable_incoming_utp, false);
    pack.set_bool(sp::enable_outgoing_utp, false);
    // Payload integrity comes from the v2 merkle tree of a signed id; RC4
    // obfuscation would only cost CPU on every agent.
    pack.set_int(sp::out_enc_policy, sp::pe_disabled);
    pack.set_int(sp::in_enc_policy, sp::pe_disabled);

    // Several agents behind one NAT, or many in one test machine, share an IP.
    pack.set_bool(sp::allow_multiple_connections_per_ip, true);
    pack.set_int(sp::connections_limit, config.connection_budget);
    pack.set_int(sp::unchoke_slots_limit, config.unchoke_slots);
    // Torrents are added unmanaged, so the queue never pauses one; the limits
    // are lifted anyway (the defaults, e.g. active_seeds = 5, would silently
    // stop an agent seeding its sixth installed bundle if that ever changed).
    pack.set_int(sp::active_downloads, -1);
    pack.set_int(sp::active_seeds, -1);
    pack.set_int(sp::active_limit, -1);
    pack.set_int(sp::active_checking, 4);

    // Limits are token buckets of the global class, refilled every tick and
    // holding up to 3 s of quota. The default 500 ms tick is kept: measured on
    // loopback, payload ran at 91-93% of an upload cap (the cap counts TCP/IP
    // overhead), while a 100 ms tick overshot it by 9%. Its cost: under a cap
    // each protocol round-trip of a new connection may wait for a tick (first
    // bytes after ~2 s instead of ~0.5 s). A download cap holds as an upper
    // bound but is lumpy: a peer's quota grant must cover all it has
    // requested, so it waits for a large grant, then reads in one gulp.
    pack.set_int(sp::upload_rate_limit, static_cast<int>(config.upload_limit));
    pack.set_int(sp::download_rate_limit, static_cast<int>(config.download_limit));

    // Fleet peers restart and come back at the same endpoint: retry after
    // seconds, not the default minute, and give up on a dead one sooner.
    pack.set_int(sp::min_reconnect_time, 2);
    pack.set_int(sp::peer_connect_timeout, 5);
    // A held fetch (FetchOptions::hold) is upload-only until its wave opens,
    // like the seeds: libtorrent would drop every such pair as redundant and
    // reconnect only after the release. Idle connections still close after
    // inactivity_timeout (10 min).
    pack.set_bool(sp::close_redundant_connections, false);
    // No trackers; never wait for one on shutdown.
    pack.set_int(sp::stop_tracker_timeout, 0);

    // What a hostile peer can make us hold or wait for. Metadata must hash
    // to the signed id, but a peer could still announce and trickle an
    // oversized one: a bundle's info dictionary (a few hundred bytes per
    // file) stays far below 4 MiB (libtorrent's default is 30 MiB). A peer
    // that sends nothing at all (not even a keep-alive, sent every 30 s) is
    // dropped after a minute rather than two. A peer that trickles keeps its
    // connection, but a block it has not delivered within request_timeout
    // (60 s) is asked of another peer, and the last blocks of a download are
    // asked of every peer at once (end-game): an honest peer, the origin at
    // least, sets the pace (tests/adversarial, attack 2).
    pack.set_int(sp::max_metadata_size, kMaxMetadataSize);
    pack.set_int(sp::peer_timeout, 60);
    return pack;
}

void apply_peer_class_policy(lt::session& session) {
    const std::uint32_t global = 1u << static_cast<std::uint32_t>(lt::session::global_peer_class_id);
    lt::ip_filter classes;
    classes.add_rule(asio::ip::make_address("0.0.0.0"), asio::ip::make_address("255.255.255.255"), global);
    classes.add_rule(asio::ip::make_address("::"), asio::ip::make_address("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
                     global);
    session.set_peer_class_filter(classes);

    lt::peer_class_info local = session.get_peer_class(lt::session::local_peer_class_id);
    local.ignore_unchoke_slots = false;
    local.connection_limit_factor = 100;
    session.set_peer_class(lt::session::local_peer_class_id, local);
}

}  // namespace patchwave::net
