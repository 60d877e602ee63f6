// Property tests over generated fleets (deterministic seeds): wave shares,
// assignment stability, and the gate never opening a wave early.
#include <algorithm>
#include <map>
#include <random>

#include <catch2/catch.hpp>

#include "rollout/gate.hpp"
#include "rollout/wave_assignment.hpp"
#include "rules_fixtures.hpp"

using namespace patchwave;
using namespace patchwave::rollout;
using namespace patchwave::rollout::test;

namespace {

constexpr std::size_t kFleetSize = 10000;

AgentId random_agent(std::mt19937_64& rng) {
    AgentId id{};
    for (std::size_t i = 0; i < id.size(); i += 8) {
        const std::uint64_t word = rng();
        for (std::size_t j = 0; j < 8; ++j)
            id[i + j] = static_cast<std::uint8_t>(word >> (8 * j));
    }
    return id;
}

std::vector<AgentId> random_fleet(std::uint64_t seed, std::size_t size) {
    std::mt19937_64 rng(seed);
    std::vector<AgentId> fleet;
    fleet.reserve(size);
    for (std::size_t i = 0; i < size; ++i)
        fleet.push_back(random_agent(rng));
    return fleet;
}

std::map<AgentId, std::optional<std::size_t>> assign_all(std::string_view rollout_id,
                                                         const std::vector<WaveSpec>& waves,
                                                         const std::vector<AgentId>& fleet) {
    std::map<AgentId, std::optional<std::size_t>> out;
    for (const AgentId& agent : fleet)
        out[agent] = assign_wave(rollout_id, waves, agent, {{"ring", "prod"}});
    return out;
}

}  // namespace

TEST_CASE("wave shares stay within one point of percent over 10,000 hosts", "[rollout][property]") {
    // Each percent wave takes percent +-1 point of the hosts that reach it, for several rollouts.
    const std::vector<WaveSpec> waves{
        wave("canary", {{"ring", "prod"}}, 1), wave("early", {{"ring", "prod"}}, 5),
        wave("quarter", {{"ring", "prod"}}, 25), wave("half", {{"ring", "prod"}}, 50),
        wave("rest", {{"ring", "prod"}})};
    const auto fleet = random_fleet(20261124, kFleetSize);
    for (const std::string rollout_id : {"2026-11-B", "2026-12-A", "hotfix-7"}) {
        std::vector<std::size_t> counts(waves.size(), 0);
        for (const AgentId& agent : fleet) {
            const auto assigned = assign_wave(rollout_id, waves, agent, {{"ring", "prod"}});
            REQUIRE(assigned.has_value());
            ++counts[*assigned];
        }
        std::size_t reaching = kFleetSize;
        for (std::size_t i = 0; i + 1 < waves.size(); ++i) {
            const double share =
                100.0 * static_cast<double>(counts[i]) / static_cast<double>(reaching);
            INFO(rollout_id << " wave " << waves[i].name << " share " << share << "% of "
                            << reaching);
            CHECK(std::abs(share - static_cast<double>(*waves[i].percent)) <= 1.0);
            reaching -= counts[i];
        }
        CHECK(counts.back() == reaching);
    }
}

TEST_CASE("a canary share over the whole fleet is within one point", "[rollout][property]") {
    // A single 5% wave selects 5% +-1 point of 10,000 hosts.
    const std::vector<WaveSpec> waves{wave("canary", {}, 5), wave("rest", {})};
    const auto fleet = random_fleet(7, kFleetSize);
    std::size_t canary = 0;
    for (const AgentId& agent : fleet)
        canary += assign_wave("2026-11-B", waves, agent, {}) == 0U ? 1 : 0;
    CHECK(canary >= 400);
    CHECK(canary <= 600);
}

TEST_CASE("assignment is unchanged when 10% of hosts are added or removed", "[rollout][property]") {
    // Every host present before and after keeps its wave.
    const std::vector<WaveSpec> waves{wave("canary", {{"ring", "prod"}}, 5),
                                      wave("early", {{"ring", "prod"}}, 20),
                                      wave("rest", {{"ring", "prod"}})};
    const auto fleet = random_fleet(99, kFleetSize);
    const auto before = assign_all("2026-11-B", waves, fleet);

    std::vector<AgentId> shrunk(fleet.begin() + kFleetSize / 10, fleet.end());  // 10% removed
    const auto after_removal = assign_all("2026-11-B", waves, shrunk);
    std::vector<AgentId> grown = fleet;
    const auto newcomers = random_fleet(100, kFleetSize / 10);  // 10% added
    grown.insert(grown.end(), newcomers.begin(), newcomers.end());
    const auto after_growth = assign_all("2026-11-B", waves, grown);

    std::size_t moved = 0;
    for (const auto& [agent, assigned] : after_removal)
        moved += before.at(agent) == assigned ? 0 : 1;
    for (const auto& [agent, assigned] : before)
        moved += after_growth.at(agent) == assigned ? 0 : 1;
    CHECK(moved == 0);
    CHECK(after_removal.size() == kFleetSize - kFleetSize / 10);
    CHECK(after_growth.size() == kFleetSize + kFleetSize / 10);
}

namespace {

// An independent, brute-force reading of the gate's documented arithmetic
// for one wave: passed, and the time it soaked (if it passed).
struct Expected {
    bool passed = false;
    std::optional<Timestamp> soaked_at;
};

Expected brute_force(const Manifest& manifest, const std::optional<ControlRecord>& record,
                     std::size_t index, std::size_t open_wave, const std::vector<HostView>& hosts,
                     Timestamp now, Duration silence) {
    const WaveSpec& spec = manifest.waves[index];
    const std::string ring = "w" + std::to_string(index);
    std::uint64_t targeted = 0;
    std::vector<Timestamp> installed;
    for (const HostView& host : hosts) {
        if (host.labels.at("ring") != ring)
            continue;
        ++targeted;
        const bool silent = !host.last_heard || now - *host.last_heard > silence;
        if (silent || !host.status)
            continue;
        const BundleStatus& bundle = host.status->rollouts[0].bundles[0];
        if (bundle.state == HostState::installed)
            installed.push_back(bundle.since);
    }
    Expected out;
    out.passed = installed.size() * 10000 >= spec.success_threshold.basis_points * targeted;
    if (!out.passed)
        return out;
    const std::uint64_t needed = (spec.success_threshold.basis_points * targeted + 9999) / 10000;
    std::optional<Timestamp> passed_at;
    if (needed > 0) {
        std::sort(installed.begin(), installed.end());
        passed_at = installed[needed - 1];
    } else if (index == 0) {
        passed_at = manifest.not_before.value_or(manifest.published);
    } else if (index == open_wave && record) {
        passed_at = record->time;
    }
    if (passed_at)
        out.soaked_at = *passed_at + (manifest.emergency ? Duration::zero() : spec.soak);
    return out;
}

constexpr std::array<HostState, 8> kStates{
    HostState::waiting,        HostState::downloading, HostState::ready,     HostState::installing,
    HostState::reboot_pending, HostState::verifying,   HostState::installed, HostState::failed};

}  // namespace

TEST_CASE("the gate never opens or advances past a wave that has not passed and soaked",
          "[rollout][property]") {
    // Over 2,000 random manifests, status mixes and control records: open_wave comes only from the
    // record, and an advance to k+1 appears only when wave k passed and soaked by the brute-force
    // arithmetic.
    std::mt19937_64 rng(424242);
    const auto pick = [&](std::uint64_t below) { return static_cast<std::size_t>(rng() % below); };
    const Timestamp now = at("2026-11-25T12:00:00Z");
    const Duration silence = std::chrono::minutes(15);
    std::size_t advances = 0, auto_pauses = 0, completions = 0, total_hosts = 0;

    for (int round = 0; round < 2000; ++round) {
        const std::size_t wave_count = 2 + pick(3);
        std::vector<WaveSpec> waves;
        for (std::size_t i = 0; i < wave_count; ++i) {
            WaveSpec spec = wave("w" + std::to_string(i), {{"ring", "w" + std::to_string(i)}});
            spec.success_threshold =
                Percent{static_cast<std::uint32_t>(pick(4) == 0 ? 10000 : pick(10001))};
            spec.failure_threshold =
                Percent{static_cast<std::uint32_t>(pick(3) == 0 ? 0 : pick(3001))};
            spec.soak = std::chrono::minutes(pick(4) * 90);
            waves.push_back(spec);
        }
        Manifest manifest = manifest_with(waves);
        manifest.emergency = pick(5) == 0;
        if (pick(4) == 0)
            manifest.not_before = now - std::chrono::hours(24) + std::chrono::hours(pick(30));

        std::vector<HostView> hosts;
        const std::size_t host_count = pick(40);
        for (std::size_t h = 0; h < host_count; ++h) {
            const std::string ring =
                pick(10) == 0 ? "other" : "w" + std::to_string(pick(wave_count));
            // Mostly installed, so waves do pass and the advance rule gets exercised.
            const HostState state =
                pick(2) == 0 ? HostState::installed : kStates[pick(kStates.size())];
            const Timestamp since = now - std::chrono::minutes(pick(600));
            std::optional<Timestamp> heard = now - std::chrono::minutes(pick(20));
            if (pick(30) == 0)
                heard.reset();
            hosts.push_back(host_view("h" + std::to_string(h), agent_id(round * 100 + h),
                                      {{"ring", ring}}, {bundle_status(bundle_id(1), state, since)},
                                      heard, pick(20) != 0));
        }
        total_hosts += hosts.size();

        std::optional<ControlRecord> record;
        if (pick(2) == 0) {
            ControlRecord control;
            control.rollout_id = manifest.rollout_id;
            control.action = static_cast<ControlAction>(pick(4));
            control.open_wave = static_cast<std::uint32_t>(pick(wave_count));
            control.time = now - std::chrono::minutes(pick(600));
            record = control;
        }

        const RolloutState state = evaluate_gate(manifest, record, hosts, now, silence);
        const std::size_t open = record ? record->open_wave : 0;
        INFO("round " << round);
        REQUIRE(state.open_wave == open);
        for (std::size_t i = 0; i < wave_count; ++i) {
            CHECK(state.waves[i].open == (i <= open));
            const Expected expected = brute_force(manifest, record, i, open, hosts, now, silence);
            CHECK(state.waves[i].passed == expected.passed);
            std::size_t counted = state.waves[i].counts.silent;
            for (std::size_t count : state.waves[i].counts.by_state)
                counted += count;
            CHECK(counted == state.waves[i].targeted);
        }
        if (state.action.kind == GateActionKind::advance) {
            ++advances;
            const Expected gate_wave =
                brute_force(manifest, record, open, open, hosts, now, silence);
            CHECK(state.action.to_wave == open + 1);
            CHECK(gate_wave.passed);
            REQUIRE(gate_wave.soaked_at.has_value());
            CHECK(*gate_wave.soaked_at <= now);
            CHECK_FALSE((record && (record->paused() || record->aborted())));
            CHECK_FALSE((manifest.not_before && now < *manifest.not_before));
        }
        if (record && (record->paused() || record->aborted()))
            CHECK(state.action.kind == GateActionKind::none);
        if (state.action.kind == GateActionKind::auto_pause)
            ++auto_pauses;
        if (state.action.kind == GateActionKind::complete)
            ++completions;
    }
    // The generator must reach every kind of outcome, or the checks above prove little.
    CHECK(advances > 50);
    CHECK(auto_pauses > 50);
    CHECK(completions > 10);
    CHECK(total_hosts > 20000);
}

TEST_CASE("a simulated rollout opens each wave only after the previous one passed and soaked",
          "[rollout][property]") {
    // Hosts progress at random over simulated hours; the orchestrator follows the gate's advice.
    // Every wave opening happens at or after the previous wave's brute-force soak time.
    std::mt19937_64 rng(5150);
    const auto pick = [&](std::uint64_t below) { return static_cast<std::size_t>(rng() % below); };
    const Manifest manifest =
        manifest_with({wave("w0", {{"ring", "w0"}}, std::nullopt, 100, 10, std::chrono::hours(1)),
                       wave("w1", {{"ring", "w1"}}, std::nullopt, 95, 10, std::chrono::hours(2)),
                       wave("w2", {{"ring", "w2"}}, std::nullopt, 90, 10, std::chrono::hours(1))});
    Timestamp now = manifest.published;
    std::vector<HostView> hosts;
    for (std::size_t h = 0; h < 600; ++h) {
        const std::string ring = h < 20 ? "w0" : h < 120 ? "w1" : "w2";
        hosts.push_back(host_view("h" + std::to_string(h), agent_id(h), {{"ring", ring}},
                                  {bundle_status(bundle_id(1), HostState::waiting, now)}, now));
    }
    std::optional<ControlRecord> record;
    std::uint64_t sequence = 1;
    std::vector<Timestamp> opened{now};
    bool completed = false;
    for (int step = 0; step < 400 && !completed; ++step) {
        now += std::chrono::minutes(10);
        const std::size_t open = record ? record->open_wave : 0;
        for (HostView& host : hosts) {
            const std::size_t wave_index =
                static_cast<std::size_t>(host.labels.at("ring")[1] - '0');
            host.last_heard = pick(50) == 0 ? host.last_heard : now;  // an occasional missed report
            BundleStatus& bundle = host.status->rollouts[0].bundles[0];
            if (wave_index > open || bundle.state == HostState::installed
                || bundle.state == HostState::failed)
                continue;
            if (pick(3) != 0)
                continue;
            bundle.state =
                wave_index > 0 && pick(200) == 0 ? HostState::failed : HostState::installed;
            bundle.since = now;
        }
        const RolloutState state =
            evaluate_gate(manifest, record, hosts, now, std::chrono::minutes(30));
        REQUIRE(state.open_wave == open);
        ControlRecord next;
        next.rollout_id = manifest.rollout_id;
        next.sequence = ++sequence;
        next.time = now;
        next.open_wave = static_cast<std::uint32_t>(open);
        switch (state.action.kind) {
            case GateActionKind::advance: {
                const Expected previous =
                    brute_force(manifest, record, open, open, hosts, now, std::chrono::minutes(30));
                REQUIRE(previous.passed);
                REQUIRE(previous.soaked_at.has_value());
                CHECK(*previous.soaked_at <= now);
                next.action = ControlAction::advance;
                next.open_wave = static_cast<std::uint32_t>(state.action.to_wave);
                opened.push_back(now);
                record = next;
                break;
            }
            case GateActionKind::auto_pause:
                next.action = ControlAction::pause;
                record = next;
                break;
            case GateActionKind::complete:
                completed = true;
                break;
            case GateActionKind::none:
                if (record && record->paused()) {  // the operator looks and resumes
                    next.action = ControlAction::resume;
                    record = next;
                }
                break;
        }
    }
    CHECK(completed);
    REQUIRE(opened.size() == 3);
    CHECK(opened[1] - opened[0] >= std::chrono::hours(1));
    CHECK(opened[2] - opened[1] >= std::chrono::hours(2));
}
