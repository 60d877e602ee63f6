#include "net/fleet/fleet_member.hpp"

#include <algorithm>
#include <cstring>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "net/gossip/asio/asio_address.hpp"
#include "net/gossip/asio/fleet_key.hpp"
#include "net/gossip/stream_message.hpp"
#include "rollout/certificate.hpp"

namespace patchwave::net {

namespace {

namespace ip = boost::asio::ip;
using gossip::asio_impl::address_of;

// Peers handed to a fetch are offered again every this many refreshes: a
// peer that was not reachable at first (still starting) gets another chance.
constexpr std::uint32_t kReofferEvery = 10;

// Different members must not make the same random choices (probe order,
// gossip targets): mix the member's agent id into the configured seed.
std::uint64_t rng_seed_for(const gossip::NodeConfig& node, gossip::ByteView certificate) {
    std::uint64_t seed = node.seed;
    auto envelope = crypto::Envelope::decode(certificate, gossip::kMaxCertificateSize);
    if (!envelope) return seed;
    auto parsed = rollout::AgentCertificate::parse_json(envelope->body);
    if (!parsed) return seed;
    const auto id = parsed->agent_id();
    std::uint64_t mix = 0;
    std::memcpy(&mix, id.data(), sizeof mix);
    return seed ^ mix;
}

}  // namespace

Result<Endpoint> to_ip_endpoint(const rollout::Endpoint& endpoint) {
    if (endpoint.kind == rollout::Endpoint::Kind::hostname) {
        return fail(Errc::invalid_argument,
                    "\"" + rollout::format_endpoint(endpoint) + "\": an IP address is needed here, not a host name");
    }
    boost::system::error_code ec;
    const ip::address address = ip::make_address(endpoint.host, ec);
    if (ec) {
        return fail(Errc::invalid_argument, "\"" + rollout::format_endpoint(endpoint) + "\": not an IP address");
    }
    return Endpoint(address, endpoint.port);
}

FleetMember::FleetMember(boost::asio::io_context& io, FleetMemberConfig config, crypto::TrustRoot root,
                         std::function<Timestamp()> now)
    : io_(io),
      config_(std::move(config)),
      now_(std::move(now)),
      clock_(io),
      verifier_(std::make_unique<gossip::RolloutVerifier>(std::move(root), now_)),
      refresh_timer_(io),
      join_timer_(io) {}

Result<std::unique_ptr<FleetMember>> FleetMember::start(boost::asio::io_context& io, FleetMemberConfig config,
                                                        crypto::TrustRoot root, gossip::Bytes certificate,
                                                        std::function<Timestamp()> now) {
    const std::string listen_text = rollout::format_endpoint(config.gossip_listen);
    auto listen = to_ip_endpoint(config.gossip_listen);
    if (!listen) return std::unexpected(listen.error().with_context("gossip listen"));
    gossip::asio_impl::TransportConfig transport_config;
    transport_config.bind = address_of(listen->address(), listen->port());
    if (config.advertise) {
        auto advertise = to_ip_endpoint(*config.advertise);
        if (!advertise) return std::unexpected(advertise.error().with_context("gossip advertise"));
        if (advertise->address().is_unspecified() || advertise->port() == 0) {
            return fail(Errc::invalid_argument, "gossip advertise \"" + rollout::format_endpoint(*config.advertise)
                                                    + "\": must be a reachable address and port");
        }
        transport_config.advertise = address_of(advertise->address(), advertise->port());
    } else if (listen->address().is_unspecified()) {
        return fail(Errc::invalid_argument,
                    "gossip listen \"" + listen_text + "\" is a wildcard address: set the address to advertise");
    }
    if (!config.fleet_key_file.empty()) {
        auto key = gossip::asio_impl::load_fleet_key(config.fleet_key_file);
        if (!key) return std::unexpected(key.error().with_context("fleet key " + config.fleet_key_file.string()));
        auto keyring = gossip::asio_impl::FleetKeyring::create(*key);
        if (!keyring) return std::unexpected(keyring.error());
        transport_config.keyring = *keyring;
    }
    if (!config.records_dir.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(config.records_dir, ec);
        if (ec) {
            return fail(Errc::io, "records directory " + config.records_dir.string() + ": " + ec.message());
        }
    }

    std::unique_ptr<FleetMember> member(new FleetMember(io, std::move(config), std::move(root), std::move(now)));
    FleetMember* self = member.get();

    auto transport = gossip::asio_impl::UdpTcpTransport::open(io, transport_config);
    if (!transport) return std::unexpected(transport.error().with_context("gossip on " + listen_text));
    self->transport_ = std::move(*transport);

    // The swarm's events update the peer hint before the caller hears of them.
    SwarmEvents events;
    events.progress = [self](const BundleProgress& progress) {
        if (self->config_.swarm_events.progress) self->config_.swarm_events.progress(progress);
    };
    events.ready = [self](const rollout::BundleId& id, const std::filesystem::path& directory) {
        self->fetching_.erase(id);
        self->advertise(id);
        if (self->config_.swarm_events.ready) self->config_.swarm_events.ready(id, directory);
    };
    events.failed = [self](const rollout::BundleId& id, const Error& error) {
        self->fetching_.erase(id);
        self->unadvertise(id);
        if (self->config_.swarm_events.failed) self->config_.swarm_events.failed(id, error);
    };
    events.evicted = [self](const rollout::BundleId& id) {
        self->unadvertise(id);
        if (self->config_.swarm_events.evicted) self->config_.swarm_events.evicted(id);
    };
    auto swarm = Swarm::start(io.get_executor(), self->config_.swarm, std::move(events));
    if (!swarm) return std::unexpected(swarm.error().with_context("swarm"));
    self->swarm_ = std::move(*swarm);

    // A swarm on a wildcard address is reached at the gossip address's IP.
    self->hint_endpoint_ = self->swarm_->endpoint();
    if (self->hint_endpoint_.address().is_unspecified()) {
        self->hint_endpoint_ =
            Endpoint(gossip::asio_impl::ip_of(self->transport_->local_address()), self->hint_endpoint_.port());
    }

    gossip::NodeConfig node_config = self->config_.node;
    node_config.seed = rng_seed_for(node_config, certificate);
    node_config.certificate = std::move(certificate);
    node_config.collector = self->config_.collector;
    node_config.hint = gossip::PeerHint{gossip::from_endpoint(self->hint_endpoint_), {}};
    auto node = gossip::Node::create(std::move(node_config), *self->transport_, self->clock_, *self->verifier_);
    if (!node) return std::unexpected(node.error().with_context("this member's certificate"));
    self->node_ = std::move(*node);
    self->node_->on_record = [self](const gossip::RecordPtr& record) { self->handle_record(record); };
    self->node_->on_refused = [self](const gossip::RecordHeader& header, const Error& error) {
        if (!self->stopped_ && self->on_refused) self->on_refused(header, error);
    };
    self->node_->on_member = [self](const gossip::MemberEvent& event) {
        if (self->on_member) self->on_member(event);
        if (event.state == gossip::MemberState::alive) self->refresh_peers();
    };
    spdlog::info("fleet member {} on gossip {}, swarm {}", rollout::short_hex(self->node_->id()),
                 gossip::to_string(self->transport_->local_address()), to_string(self->hint_endpoint_));
    return member;
}

FleetMember::~FleetMember() {
    stop();
    *alive_ = false;
}

void FleetMember::handle_record(const gossip::RecordPtr& record) {
    if (stopped_) return;
    const auto type = record->header.key.type;
    std::optional<crypto::TrustRoot> adopted;
    if (type == gossip::RecordType::root) {
        // The store only holds a root that verify_next_root accepted against
        // the current one; verifying again yields the document to adopt.
        auto envelope = crypto::Envelope::decode(record->envelope, gossip::Record::kMaxEnvelopeSize);
        auto next = envelope ? crypto::verify_next_root(verifier_->root(), *envelope, now_())
                             : Result<crypto::TrustRoot>(std::unexpected(envelope.error()));
        if (!next) {
            spdlog::warn("trust root v{} was stored but does not follow v{}: {}", record->header.version,
                         verifier_->root().version, next.error().message());
        } else {
            spdlog::info("adopting trust root v{} (was v{})", next->version, verifier_->root().version);
            verifier_->set_root(*next);
            adopted = std::move(*next);
            drop_untrusted_records();
        }
    }
    if (type != gossip::RecordType::status && !restoring_) save_record(*record);
    if (adopted) {
        drop_superseded_roots(adopted->version);
        if (on_root) on_root(*adopted, record->envelope);
    }
    if (on_record) on_record(record);
}

Status FleetMember::publish(gossip::ByteView envelope) {
    if (stopped_) return fail(Errc::state, "the fleet member is stopped");
    auto header = record_header_of(envelope);
    if (!header) return std::unexpected(header.error());
    return node_->publish(*header, gossip::Bytes(envelope.begin(), envelope.end()));
}

Result<rollout::BundleId> FleetMember::seed(const std::filesystem::path& directory, SeedOptions options) {
    if (stopped_) return fail(Errc::state, "the fleet member is stopped");
    auto id = swarm_->seed(directory, std::move(options));
    if (!id) return id;
    fetching_.erase(*id);
    advertise(*id);
    return id;
}

Status FleetMember::fetch(const rollout::BundleId& id, const std::filesystem::path& staging, FetchOptions options) {
    if (stopped_) return fail(Errc::state, "the fleet member is stopped");
    std::set<Endpoint> known(options.peers.begin(), options.peers.end());
    for (const auto& [member, address] : node_->peers_seeding(id)) {
        const Endpoint endpoint = gossip::to_endpoint(address);
        if (known.insert(endpoint).second) options.peers.push_back(endpoint);
    }
    update_origins();
    if (auto status = swarm_->fetch(id, staging, std::move(options)); !status) return status;
    spdlog::info("bundle {}: fetching, {} peer(s) known from gossip", rollout::short_hex(id), known.size());
    fetching_.insert_or_assign(id, std::move(known));
    schedule_refresh();
    return {};
}

Status FleetMember::forget(const rollout::BundleId& id) {
    if (stopped_) return fail(Errc::state, "the fleet member is stopped");
    fetching_.erase(id);
    unadvertise(id);
    return swarm_->remove(id);
}

std::vector<rollout::BundleId> FleetMember::advertised() const {
    return {advertised_.begin(), advertised_.end()};
}

Endpoint FleetMember::gossip_address() const {
    return gossip::to_endpoint(transport_->local_address());
}

Endpoint FleetMember::swarm_endpoint() const {
    return hint_endpoint_;
}

void FleetMember::advertise(const rollout::BundleId& id) {
    auto it = std::find(advertised_.begin(), advertised_.end(), id);
    if (it != advertised_.end()) advertised_.erase(it);
    advertised_.push_back(id);
    while (advertised_.size() > gossip::PeerHint::kMaxSeeding)
        advertised_.pop_front();
    if (auto status = publish_hint(); !status) spdlog::warn("peer hint: {}", status.error().message());
}

void FleetMember::unadvertise(const rollout::BundleId& id) {
    auto it = std::find(advertised_.begin(), advertised_.end(), id);
    if (it == advertised_.end()) return;
    advertised_.erase(it);
    if (auto status = publish_hint(); !status) spdlog::warn("peer hint: {}", status.error().message());
}

Status FleetMember::publish_hint() {
    if (stopped_) return {};
    return node_->set_hint(
        gossip::PeerHint{gossip::from_endpoint(hint_endpoint_), {advertised_.begin(), advertised_.end()}});
}

void FleetMember::update_origins() {
    // The orchestrator is the member that collects status records; bytes
    // from its advertised swarm address are the origin's.
    std::vector<boost::asio::ip::address> origins;
    const gossip::MemberList& members = node_->members();
    for (std::size_t slot = 0; slot < members.size(); ++slot) {
        const gossip::Member& member = members.at(slot);
        if ((member.roles & gossip::kRoleCollector) == 0 || member.id == members.self_id()) continue;
        const gossip::PeerHint* hint = members.hint(member.id);
        if (hint != nullptr && !hint->swarm_endpoint.unset())
            origins.push_back(gossip::to_endpoint(hint->swarm_endpoint).address());
    }
    swarm_->set_origins(std::move(origins));
}

std::array<std::size_t, 4> FleetMember::member_counts() const {
    std::array<std::size_t, 4> counts{};
    const gossip::MemberList& members = node_->members();
    for (std::size_t slot = 0; slot < members.size(); ++slot) {
        const gossip::Member& member = members.at(slot);
        if (member.id == members.self_id()) continue;
        const auto state = static_cast<std::size_t>(member.state);
        if (state < counts.size()) ++counts[state];
    }
    return counts;
}

void FleetMember::refresh_peers() {
    if (stopped_) return;
    update_origins();
    const bool reoffer = ++refreshes_ % kReofferEvery == 0;
    for (auto it = fetching_.begin(); it != fetching_.end();) {
        std::vector<Endpoint> fresh;
        for (const auto& [member, address] : node_->peers_seeding(it->first)) {
            const Endpoint endpoint = gossip::to_endpoint(address);
            if (it->second.insert(endpoint).second) fresh.push_back(endpoint);
        }
        if (reoffer) fresh.assign(it->second.begin(), it->second.end());
        if (!fresh.empty()) {
            auto status = swarm_->add_peers(it->first, fresh);
            if (!status && status.error().is(Errc::not_found)) {
                it = fetching_.erase(it);  // finished or removed meanwhile
                continue;
            }
            if (!reoffer) {
                spdlog::debug("bundle {}: {} new peer(s) from gossip", rollout::short_hex(it->first), fresh.size());
            }
        }
        ++it;
    }
}

void FleetMember::schedule_refresh() {
    if (refresh_scheduled_ || stopped_ || fetching_.empty()) return;
    refresh_scheduled_ = true;
    refresh_timer_.expires_after(config_.peer_refresh_interval);
    refresh_timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& ec) {
        auto still = alive.lock();
        if (!still || !*still) return;
        refresh_scheduled_ = false;
        if (ec || stopped_) return;
        refresh_peers();
        schedule_refresh();
    });
}

void FleetMember::stop() {
    if (stopped_) return;
    stopped_ = true;
    join_timer_.cancel();
    refresh_timer_.cancel();
    if (node_) {
        node_->on_record = nullptr;
        node_->on_member = nullptr;
        node_->on_refused = nullptr;
        node_->leave();
        node_->stop();
    }
    if (swarm_) swarm_->stop();
    fetching_.clear();
}

}  // namespace patchwave::net
