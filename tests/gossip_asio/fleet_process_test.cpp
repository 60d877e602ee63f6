// The real-UDP test: 20 gossip members in separate processes on
// 127.0.0.40-59 converge on a new record; one killed with SIGKILL is declared
// dead by the others; restarted, it rejoins and catches up.
#include <array>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>

#include "member_process.hpp"
#include "net/gossip/asio/fleet_key.hpp"

using namespace patchwave;
using namespace patchwave::net::gossip;
using namespace patchwave::net::gossip::testing;
using namespace std::chrono_literals;
using WallClock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kMembers = 20;
constexpr int kFirstOctet = 40;

double seconds_between(WallClock::time_point from, WallClock::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}

/// What the test has read from every member's stdout.
class FleetWatch {
public:
    explicit FleetWatch(std::string fleet_key) : fleet_key_(std::move(fleet_key)) {}

    /// Starts member `index` on 127.0.0.(40+index) (`port` 0: any), joining
    /// through `seed` when given.
    void spawn(std::size_t index, std::uint16_t port, const std::string& seed) {
        std::vector<std::string> argv{PATCHWAVE_GOSSIP_MEMBER,
                                      "--index",
                                      std::to_string(index),
                                      "--bind",
                                      "127.0.0." + std::to_string(kFirstOctet + index) + ":" + std::to_string(port),
                                      "--fleet-key",
                                      fleet_key_,
                                      "--probe-ms",
                                      "100",
                                      "--lifetime-s",
                                      "110"};
        if (!seed.empty()) {
            argv.push_back("--join");
            argv.push_back(seed);
        }
        auto process = MemberProcess::spawn(argv);
        if (!process) FAIL("spawn member " << index << ": " << process.error().message());
        processes_[index] = std::move(*process);
        views_[index].clear();
        records_[index].clear();
        ready_[index] = false;
    }

    void kill(std::size_t index) { processes_[index]->kill_hard(); }
    void send(std::size_t index, const std::string& line) { processes_[index]->send(line); }

    /// Reads member output until `done()` holds or `limit` passes.
    bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
        const auto end = WallClock::now() + limit;
        while (!done()) {
            if (WallClock::now() >= end) return false;
            std::vector<MemberProcess*> live;
            for (auto& process : processes_)
                live.push_back(process ? process.get() : nullptr);
            poll_lines(live, 20ms, [this](const MemberLine& line) { take(line); });
        }
        return true;
    }

    bool ready(std::size_t index) const { return ready_[index]; }
    const std::string& address(std::size_t index) const { return addresses_[index]; }
    const std::string& id(std::size_t index) const { return ids_[index]; }
    std::uint16_t port(std::size_t index) const {
        return static_cast<std::uint16_t>(std::stoul(addresses_[index].substr(addresses_[index].rfind(':') + 1)));
    }
    const std::vector<std::string>& errors() const { return errors_; }
    /// Every member id any member ever reported dead.
    const std::set<std::string>& declared_dead() const { return declared_dead_; }

    /// How `observer` last reported `subject` ("" when never).
    std::string state(std::size_t observer, std::size_t subject) const {
        auto it = views_[observer].find(ids_[subject]);
        return it == views_[observer].end() ? std::string() : it->second;
    }
    /// True when every live member in `among` sees `subject` in `state`.
    bool all_see(const std::vector<std::size_t>& among, std::size_t subject, const std::string& wanted) const {
        for (auto observer : among) {
            if (observer != subject && state(observer, subject) != wanted) return false;
        }
        return true;
    }
    bool full_mesh(const std::vector<std::size_t>& among) const {
        for (auto subject : among) {
            if (!all_see(among, subject, "alive")) return false;
        }
        return true;
    }
    bool holds(std::size_t member, const std::string& rollout, std::uint64_t version) const {
        auto it = records_[member].find(rollout);
        return it != records_[member].end() && it->second >= version;
    }
    /// When `member` first reported holding `rollout` at `version` or above.
    WallClock::time_point held_at(std::size_t member, const std::string& rollout, std::uint64_t version) const {
        return record_times_.at({member, rollout + "/" + std::to_string(version)});
    }
    /// When `observer` last reported `subject` in `state`.
    WallClock::time_point seen_at(std::size_t observer, std::size_t subject, const std::string& wanted) const {
        return state_times_.at({observer, ids_[subject] + "/" + wanted});
    }

private:
    void take(const MemberLine& line) {
        std::istringstream words(line.text);
        std::string kind;
        words >> kind;
        const std::size_t m = line.member;
        if (kind == "ready") {
            words >> addresses_[m] >> ids_[m];
            ready_[m] = true;
        } else if (kind == "member") {
            std::string id;
            std::string state;
            words >> id >> state;
            views_[m][id] = state;
            state_times_[{m, id + "/" + state}] = line.at;
            if (state == "dead") declared_dead_.insert(id);
        } else if (kind == "record") {
            std::string type;
            std::string rollout;
            std::uint64_t version = 0;
            words >> type >> rollout >> version;
            records_[m][rollout] = std::max(records_[m][rollout], version);
            record_times_.try_emplace({m, rollout + "/" + std::to_string(version)}, line.at);
        } else if (kind == "error" || (kind == "joined" && line.text != "joined ok")) {
            errors_.push_back("member " + std::to_string(m) + ": " + line.text);
        }
    }

    std::string fleet_key_;
    std::array<std::unique_ptr<MemberProcess>, kMembers> processes_;
    std::array<bool, kMembers> ready_{};
    std::array<std::string, kMembers> addresses_;
    std::array<std::string, kMembers> ids_;
    std::array<std::map<std::string, std::string>, kMembers> views_;
    std::array<std::map<std::string, std::uint64_t>, kMembers> records_;
    std::map<std::pair<std::size_t, std::string>, WallClock::time_point> record_times_;
    std::map<std::pair<std::size_t, std::string>, WallClock::time_point> state_times_;
    std::vector<std::string> errors_;
    std::set<std::string> declared_dead_;
};

std::vector<std::size_t> everyone_but(std::size_t excluded) {
    std::vector<std::size_t> members;
    for (std::size_t i = 0; i < kMembers; ++i) {
        if (i != excluded) members.push_back(i);
    }
    return members;
}

}  // namespace

TEST_CASE("20 member processes on loopback converge, detect a killed member, and take it back", "[gossip-net]") {
    // Under a fleet key: all 20 converge on a manifest; member 7 killed (SIGKILL) is declared dead by all 19
    // others and no one else is; restarted at its address it rejoins, is alive to all, and gets what it missed.
    FleetWatch fleet(asio_impl::to_text(asio_impl::generate_fleet_key(1)));
    const auto everyone = everyone_but(kMembers);
    const auto t_spawn = WallClock::now();
    fleet.spawn(0, 0, "");
    REQUIRE(fleet.wait_until([&] { return fleet.ready(0); }, 5000ms));
    for (std::size_t i = 1; i < kMembers; ++i)
        fleet.spawn(i, 0, fleet.address(0));
    REQUIRE(fleet.wait_until([&] { return fleet.full_mesh(everyone); }, 20000ms));
    const double mesh_s = seconds_between(t_spawn, WallClock::now());

    // A new record from one member reaches all 20.
    const auto t_publish = WallClock::now();
    fleet.send(5, "publish r-net 1");
    auto all_hold = [&](const std::vector<std::size_t>& members, const std::string& rollout, std::uint64_t version) {
        for (auto m : members) {
            if (!fleet.holds(m, rollout, version)) return false;
        }
        return true;
    };
    REQUIRE(fleet.wait_until([&] { return all_hold(everyone, "r-net", 1); }, 10000ms));
    WallClock::time_point last_holder = t_publish;
    for (auto m : everyone)
        last_holder = std::max(last_holder, fleet.held_at(m, "r-net", 1));
    const double converge_s = seconds_between(t_publish, last_holder);
    CHECK(converge_s < 5.0);

    // SIGKILL one member: every survivor declares it dead.
    constexpr std::size_t victim = 7;
    const auto survivors = everyone_but(victim);
    const std::uint16_t victim_port = fleet.port(victim);
    const auto t_kill = WallClock::now();
    fleet.kill(victim);
    REQUIRE(fleet.wait_until([&] { return fleet.all_see(survivors, victim, "dead"); }, 20000ms));
    WallClock::time_point first_dead = WallClock::time_point::max();
    WallClock::time_point last_dead = t_kill;
    for (auto m : survivors) {
        first_dead = std::min(first_dead, fleet.seen_at(m, victim, "dead"));
        last_dead = std::max(last_dead, fleet.seen_at(m, victim, "dead"));
    }
    const double dead_first_s = seconds_between(t_kill, first_dead);
    const double dead_all_s = seconds_between(t_kill, last_dead);
    CHECK(dead_all_s < 10.0);
    CHECK(fleet.full_mesh(survivors));

    // A bigger record (fetched over TCP) is published while it is down.
    fleet.send(3, "publish r-net 2 48");
    REQUIRE(fleet.wait_until([&] { return all_hold(survivors, "r-net", 2); }, 10000ms));

    // Restarted at the same address, it rejoins, refutes its death, and catches up.
    const auto t_restart = WallClock::now();
    fleet.spawn(victim, victim_port, fleet.address(0));
    REQUIRE(fleet.wait_until(
        [&] {
            return fleet.all_see(survivors, victim, "alive") && fleet.full_mesh(everyone)
                   && fleet.holds(victim, "r-net", 2);
        },
        20000ms));
    const double rejoin_s = seconds_between(t_restart, WallClock::now());
    // A short settle: nobody else was declared dead along the way, or afterwards.
    fleet.wait_until([] { return false; }, 500ms);
    CHECK(fleet.full_mesh(everyone));
    CHECK(fleet.declared_dead() == std::set<std::string>{fleet.id(victim)});
    for (const auto& error : fleet.errors())
        CHECK(error.empty());

    std::printf(
        "[gossip-net figures] 20 processes: full mesh %.2f s after spawn; record converged in %.3f s; "
        "killed member declared dead by first survivor %.2f s, by all 19 %.2f s; "
        "restart to rejoined + caught up %.2f s\n",
        mesh_s, converge_s, dead_first_s, dead_all_s, rejoin_s);
    std::fflush(stdout);
}
