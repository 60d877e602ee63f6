// FleetMember::join: re-offer saved records, start gossip, and keep asking the
// seeds (resolved afresh each round) until one admits this member.
#include <algorithm>

#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "net/fleet/fleet_member.hpp"
#include "net/gossip/asio/asio_address.hpp"

namespace patchwave::net {

namespace {

// Failed rounds are logged at the first and then every this many, so a
// member waiting for its seeds for hours does not flood the log.
constexpr std::uint32_t kLogEvery = 10;

// The gossip addresses of the seeds: IPs as they are, host names resolved
// now (a blocking lookup, once per round). Unresolvable ones are skipped.
std::vector<gossip::Address> resolve_seeds(boost::asio::io_context& io, const std::vector<rollout::Endpoint>& seeds,
                                           const gossip::Address& self, std::vector<std::string>& problems) {
    std::vector<gossip::Address> addresses;
    boost::asio::ip::udp::resolver resolver(io);
    for (const auto& seed : seeds) {
        boost::system::error_code ec;
        auto results =
            resolver.resolve(seed.host, std::to_string(seed.port), boost::asio::ip::resolver_base::numeric_service, ec);
        if (ec) {
            problems.push_back(rollout::format_endpoint(seed) + ": " + ec.message());
            continue;
        }
        for (const auto& entry : results) {
            const auto address = gossip::asio_impl::address_of(entry.endpoint());
            // The origin may list itself among the seeds; joining itself means nothing.
            if (address == self) continue;
            if (std::find(addresses.begin(), addresses.end(), address) == addresses.end()) {
                addresses.push_back(address);
            }
        }
    }
    return addresses;
}

}  // namespace

void FleetMember::join(std::function<void(Status)> done) {
    auto shared_done = std::make_shared<std::function<void(Status)>>(std::move(done));
    if (stopped_) return;
    restore_records();
    node_->start();
    if (config_.seeds.empty()) {
        boost::asio::post(io_, [this, shared_done, alive = std::weak_ptr<bool>(alive_)] {
            auto still = alive.lock();
            if (!still || !*still || stopped_) return;
            if (*shared_done) (*shared_done)({});
        });
        return;
    }
    join_attempt(std::move(shared_done), config_.join_retry_min, 1);
}

void FleetMember::join_attempt(std::shared_ptr<std::function<void(Status)>> done, std::chrono::milliseconds wait,
                               std::uint32_t attempt) {
    if (stopped_) return;
    auto retry = [this, done, wait, attempt](const std::string& why) {
        if (attempt == 1 || attempt % kLogEvery == 0) {
            spdlog::warn("gossip join (attempt {}): {}; retrying every {} ms at most", attempt, why,
                         config_.join_retry_max.count());
        }
        join_timer_.expires_after(wait);
        join_timer_.async_wait(
            [this, done, wait, attempt, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& ec) {
                auto still = alive.lock();
                if (ec || !still || !*still || stopped_) return;
                join_attempt(done, std::min(wait * 2, config_.join_retry_max), attempt + 1);
            });
    };
    std::vector<std::string> problems;
    auto seeds = resolve_seeds(io_, config_.seeds, transport_->local_address(), problems);
    if (seeds.empty()) {
        std::string why = "no seed address";
        for (const auto& problem : problems)
            why += "; " + problem;
        retry(why);
        return;
    }
    node_->join(std::move(seeds), [this, done, retry, attempt, alive = std::weak_ptr<bool>(alive_)](Status status) {
        auto still = alive.lock();
        if (!still || !*still || stopped_) return;
        if (!status) {
            retry(status.error().message());
            return;
        }
        if (attempt > 1) spdlog::info("gossip join: admitted after {} attempts", attempt);
        // Never inline from a Node call: the caller may be inside join().
        boost::asio::post(io_, [this, done, alive] {
            auto again = alive.lock();
            if (!again || !*again || stopped_) return;
            if (*done) (*done)({});
        });
    });
}

}  // namespace patchwave::net
