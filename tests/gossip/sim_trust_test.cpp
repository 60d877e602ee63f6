// Trust in the simulator, with real signatures: rollout's verifiers behind
// RecordVerifier. Forged and replayed status records, forged control records
// and unenrolled members change nothing anywhere.
#include <catch2/catch.hpp>

#include "net/gossip/rollout_verifier.hpp"
#include "rollout/control_record.hpp"
#include "rollout/document_fixtures.hpp"
#include "rollout/status_record.hpp"
#include "sim_support.hpp"

using namespace patchwave;
using namespace patchwave::net::gossip;
using namespace patchwave::net::gossip::testing;
using namespace std::chrono_literals;
using rollout::testing::at;
using rollout::testing::test_key;

namespace {

constexpr std::size_t kMembers = 40;

crypto::PrivateKey agent_key(std::size_t index) {
    return test_key(static_cast<std::uint8_t>(100 + index));
}

Bytes certificate_for(const rollout::testing::TestTrust& trust, std::size_t index) {
    rollout::AgentCertificate certificate;
    certificate.agent_key = agent_key(index).public_key();
    certificate.host = "host-" + std::to_string(index);
    certificate.labels = {{"ring", "prod"}};
    certificate.issued = at("2026-01-01T00:00:00Z");
    certificate.expires = at("2027-01-01T00:00:00Z");
    return *certificate.sign(trust.enrollment).encode();
}

Bytes status_envelope(const MemberId& agent, std::uint64_t sequence, const crypto::PrivateKey& signer) {
    rollout::StatusRecord status;
    status.agent = agent;
    status.sequence = sequence;
    status.boot_id = "boot-" + std::to_string(sequence);
    status.time = at("2026-11-25T10:00:00Z");
    return *status.sign(signer).encode();
}

RecordHeader status_header(const MemberId& agent, std::uint64_t sequence) {
    return {{RecordType::status, agent, ""}, sequence};
}

/// A fleet whose members all verify with the rollout verifier against one trust root.
std::unique_ptr<sim::Cluster> trusted_cluster(const rollout::testing::TestTrust& trust, RecordScope status_scope) {
    sim::ClusterOptions options;
    options.members = kMembers;
    options.seed = 51;
    options.collectors = 1;
    options.node.scopes[static_cast<std::size_t>(RecordType::status)] = status_scope;
    sim::ClusterIdentities identities;
    for (std::size_t i = 0; i < kMembers; ++i) {
        identities.certificates.push_back(certificate_for(trust, i));
        identities.verifiers.push_back(
            std::make_unique<RolloutVerifier>(trust.trust, [] { return at("2026-11-25T10:00:00Z"); }));
    }
    return make_cluster(options, std::move(identities));
}

/// Sends one record whole, in a gossip datagram, from `from` to every member.
void inject(sim::Cluster& cluster, std::uint32_t from, const RecordHeader& header, const Bytes& envelope) {
    auto item = encode_item(RecordItem{std::make_shared<Record>(Record{header, envelope})});
    REQUIRE(item);
    for (std::uint32_t i = 0; i < cluster.size(); ++i) {
        cluster.network().transport(from).send_datagram(Address::for_sim_index(i), encode_datagram(Gossip{}, {*item}));
    }
}

std::uint64_t refused_total(sim::Cluster& cluster) {
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < cluster.size(); ++i)
        total += cluster.node(i)->stats().records_refused;
    return total;
}

}  // namespace

TEST_CASE("a member that forges another's status record, or replays an older one, changes nothing", "[gossip]") {
    // Member 1's genuine status v5 stays what all 40 members hold, byte for byte, whatever member 2 sends.
    rollout::testing::TestTrust trust;
    auto cluster = trusted_cluster(trust, RecordScope::fleet);
    cluster->network().run_for(2s);
    const MemberId victim = cluster->id(1);
    const Bytes v3 = status_envelope(victim, 3, agent_key(1));
    const Bytes v5 = status_envelope(victim, 5, agent_key(1));
    REQUIRE(cluster->node(1)->publish(status_header(victim, 3), v3));
    REQUIRE(time_to_converge(*cluster, status_header(victim, 3), 20s, kMembers));
    REQUIRE(cluster->node(1)->publish(status_header(victim, 5), v5));
    REQUIRE(time_to_converge(*cluster, status_header(victim, 5), 20s, kMembers));
    const std::uint64_t refused_before = refused_total(*cluster);

    // The attacker's own node refuses to publish a forgery.
    const Bytes forged = status_envelope(victim, 9, agent_key(2));
    CHECK_FALSE(cluster->node(2)->publish(status_header(victim, 9), forged));
    // So it speaks the wire protocol directly: a status claiming to be the
    // victim's, signed with the attacker's key; a genuine v5 relabelled v9;
    // and the victim's genuine, older v3.
    inject(*cluster, 2, status_header(victim, 9), forged);
    inject(*cluster, 2, status_header(victim, 9), v5);
    inject(*cluster, 2, status_header(victim, 3), v3);
    cluster->network().run_for(20s);

    for (std::size_t i = 0; i < kMembers; ++i) {
        RecordPtr held = cluster->node(i)->records().find(status_header(victim, 5).key);
        REQUIRE(held);
        CHECK(held->header.version == 5);
        CHECK(held->envelope == v5);
    }
    // The forgeries were checked and refused (the replay was dropped as stale before any check).
    CHECK(refused_total(*cluster) >= refused_before + 2 * (kMembers - 1));
}

TEST_CASE("statuses reach the collector only, and a forged one delivered to it is refused", "[gossip]") {
    // Upstream scope: the orchestrator (member 0) holds every genuine status; others hold only their own.
    rollout::testing::TestTrust trust;
    auto cluster = trusted_cluster(trust, RecordScope::upstream);
    cluster->network().run_for(2s);
    for (std::size_t i = 1; i < kMembers; ++i) {
        REQUIRE(cluster->node(i)->publish(status_header(cluster->id(i), 1),
                                          status_envelope(cluster->id(i), 1, agent_key(i))));
    }
    bool collected = cluster->network().run_until_true(
        [&] { return cluster->node(0)->records().size() == kMembers - 1; }, 100ms, 30s);
    CHECK(collected);
    CHECK(cluster->node(5)->records().size() == 1);  // only its own

    // Member 2 delivers a status claiming to be member 7's, straight to the collector.
    const MemberId victim = cluster->id(7);
    auto delivery = encode_stream_message(Records{
        {std::make_shared<Record>(Record{status_header(victim, 2), status_envelope(victim, 2, agent_key(2))})}});
    REQUIRE(delivery);
    std::optional<Result<Bytes>> answer;
    cluster->network().transport(2).exchange(Address::for_sim_index(0), *delivery, 5s,
                                             [&](Result<Bytes> reply) { answer = std::move(reply); });
    cluster->network().run_for(5s);
    REQUIRE(answer.has_value());
    REQUIRE(*answer);
    auto held = decode_stream_message(**answer);
    REQUIRE(held);
    REQUIRE(std::holds_alternative<Held>(*held));
    REQUIRE(std::get<Held>(*held).headers.size() == 1);
    CHECK(std::get<Held>(*held).headers[0].version == 1);  // still the genuine one
    CHECK(cluster->node(0)->records().version_of(status_header(victim, 1).key) == 1);
}

TEST_CASE("a control record spreads only when the operator role signed it", "[gossip]") {
    // The operator's pause reaches everyone; a higher-sequence forgery signed by an agent key reaches no one.
    rollout::testing::TestTrust trust;
    auto cluster = trusted_cluster(trust, RecordScope::upstream);
    cluster->network().run_for(2s);
    rollout::ControlRecord control;
    control.rollout_id = "2026-11-B";
    control.sequence = 4;
    control.action = rollout::ControlAction::pause;
    control.reason = "canary failures";
    control.operator_name = "alice";
    control.time = at("2026-11-25T10:00:00Z");
    RecordHeader header{{RecordType::control, MemberId{}, "2026-11-B"}, 4};
    REQUIRE(cluster->node(0)->publish(header, *control.sign(trust.operators[0]).encode()));
    REQUIRE(time_to_converge(*cluster, header, 20s, kMembers));

    rollout::ControlRecord forged = control;
    forged.sequence = 5;
    forged.action = rollout::ControlAction::resume;
    RecordHeader forged_header{{RecordType::control, MemberId{}, "2026-11-B"}, 5};
    inject(*cluster, 3, forged_header, *forged.sign(agent_key(3)).encode());
    cluster->network().run_for(20s);
    CHECK(cluster->holding(header.key, 5) == 0);
    CHECK(cluster->holding(header.key, 4) == kMembers);
}

TEST_CASE("every member that refuses a record reports it, with the claimed header and why", "[gossip]") {
    // A forged control record pushed to all: each receiver's on_refused names it; the stale replay is not reported.
    rollout::testing::TestTrust trust;
    auto cluster = trusted_cluster(trust, RecordScope::upstream);
    cluster->network().run_for(2s);
    std::vector<std::vector<std::pair<RecordHeader, std::string>>> reported(kMembers);
    for (std::size_t i = 0; i < kMembers; ++i) {
        cluster->node(i)->on_refused = [&reported, i](const RecordHeader& header, const Error& error) {
            CHECK(error.is(Errc::untrusted));
            reported[i].emplace_back(header, error.message());
        };
    }
    rollout::ControlRecord control;
    control.rollout_id = "2026-11-B";
    control.sequence = 4;
    control.action = rollout::ControlAction::pause;
    control.operator_name = "alice";
    control.time = at("2026-11-25T10:00:00Z");
    RecordHeader header{{RecordType::control, MemberId{}, "2026-11-B"}, 4};
    const Bytes genuine = *control.sign(trust.operators[0]).encode();
    REQUIRE(cluster->node(0)->publish(header, genuine));
    REQUIRE(time_to_converge(*cluster, header, 20s, kMembers));

    rollout::ControlRecord forged = control;
    forged.sequence = 5;
    forged.action = rollout::ControlAction::resume;
    const RecordHeader forged_header{{RecordType::control, MemberId{}, "2026-11-B"}, 5};
    inject(*cluster, 3, forged_header, *forged.sign(agent_key(3)).encode());
    inject(*cluster, 3, header, genuine);  // a replay of what everyone holds: stale, dropped unchecked
    cluster->network().run_for(5s);
    for (std::size_t i = 0; i < kMembers; ++i) {
        INFO("member " << i);
        REQUIRE(reported[i].size() == 1);  // only sent once, never stored, so never forwarded
        CHECK(reported[i][0].first == forged_header);
        CHECK_THAT(reported[i][0].second, Catch::Contains("operator"));
    }
}

TEST_CASE("the rollout verifier admits enrolled members only", "[gossip]") {
    // A certificate signed by the enrollment key is admitted and served back; one signed by anyone else is not.
    rollout::testing::TestTrust trust;
    RolloutVerifier verifier(trust.trust, [] { return at("2026-11-25T10:00:00Z"); });
    Bytes good = certificate_for(trust, 1);
    auto admitted = verifier.admit_member(good);
    REQUIRE(admitted);
    CHECK(admitted->id == agent_key(1).public_key().id());
    CHECK(verifier.certificate(admitted->id) == good);
    verifier.forget_member(admitted->id);
    CHECK(verifier.certificate(admitted->id).empty());

    rollout::AgentCertificate self_signed;
    self_signed.agent_key = agent_key(2).public_key();
    self_signed.host = "intruder";
    self_signed.issued = at("2026-01-01T00:00:00Z");
    self_signed.expires = at("2027-01-01T00:00:00Z");
    auto refused = verifier.admit_member(*self_signed.sign(agent_key(2)).encode());
    REQUIRE_FALSE(refused);
    CHECK(refused.error().is(Errc::untrusted));
    CHECK_FALSE(verifier.admit_member(Bytes{1, 2, 3}));
}
