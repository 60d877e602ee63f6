// Writes the generated half of the seed corpora (tests/fuzz/corpus/): real
// encodings of every binary and JSON format, made by the project's own
// encoders from the unit tests' sample documents, so fuzzing starts from
// inputs that pass the parsers and mutates inward from there.
//   ninja fuzz_make_seeds && build/.../fuzz_make_seeds tests/fuzz/corpus
// The TOML seeds are the examples of docs/ and are kept by hand.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "agent/journal.hpp"
#include "agent/refusal_log.hpp"
#include "crypto/key_file.hpp"
#include "net/gossip/asio/fleet_key.hpp"
#include "net/gossip/message.hpp"
#include "net/gossip/stream_message.hpp"
#include "rollout/certificate.hpp"
#include "rollout/control_record.hpp"
#include "rollout/document_fixtures.hpp"
#include "rollout/status_record.hpp"

using namespace patchwave;
using rollout::testing::at;
using rollout::testing::bundle_id;
using rollout::testing::test_key;

namespace {

std::filesystem::path g_root;

void write(const std::string& target, const std::string& name, std::string_view bytes) {
    const auto directory = g_root / target;
    std::filesystem::create_directories(directory);
    std::ofstream out(directory / name, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + (directory / name).string());
}

void write(const std::string& target, const std::string& name, const std::vector<std::uint8_t>& bytes) {
    write(target, name, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

void write_envelope(const std::string& name, const crypto::Envelope& envelope) {
    write("envelope", name, envelope.encode().value());
}

rollout::AgentCertificate sample_certificate() {
    rollout::AgentCertificate certificate;
    certificate.agent_key = test_key(50).public_key();
    certificate.host = "web-01.example.net";
    certificate.labels = {{"ring", "prod"}, {"site", "fra1"}};
    certificate.issued = at("2026-11-20T00:00:00Z");
    certificate.expires = at("2027-11-20T00:00:00Z");
    return certificate;
}

rollout::ControlRecord sample_control() {
    rollout::ControlRecord control;
    control.rollout_id = "2026-11-B";
    control.sequence = 4;
    control.action = rollout::ControlAction::advance;
    control.open_wave = 1;
    control.reason = "canary looks healthy";
    control.operator_name = "alice";
    control.time = at("2026-11-24T06:00:00Z");
    return control;
}

rollout::StatusRecord sample_status() {
    rollout::StatusRecord status;
    status.agent = test_key(50).public_key().id();
    status.sequence = 12;
    status.boot_id = "5f0e7a9c-0000-4000-8000-000000000001";
    status.time = at("2026-11-24T07:00:00Z");
    rollout::BundleStatus installed{
        bundle_id(7), rollout::HostState::installed, at("2026-11-24T05:00:00Z"), "", "", false, 4096, 4096, 1};
    rollout::BundleStatus failed{bundle_id(8),
                                 rollout::HostState::failed,
                                 at("2026-11-24T05:30:00Z"),
                                 "verify",
                                 "exit status 1: \"check failed\"",
                                 true,
                                 10,
                                 10,
                                 2};
    status.rollouts.push_back({"2026-11-B", 3, {installed, failed}});
    status.reboot.pending = true;
    status.reboot.pending_since = at("2026-11-24T05:00:00Z");
    status.reboot.deadline = at("2026-11-26T05:00:00Z");
    status.reboot.scheduled_for = at("2026-11-25T02:00:00Z");
    status.reboot.deferrals_used = 1;
    status.drift.push_back(
        {"/etc/ssl/openssl.cnf", std::string(64, 'a'), "absent", bundle_id(7), at("2026-11-24T07:00:00Z")});
    status.refused.push_back({"manifest 2026-11-B v2", "version is not above the v3 already seen",
                              at("2026-11-24T06:00:00Z"), at("2026-11-24T06:30:00Z"), 3});
    return status;
}

void documents() {
    const rollout::testing::TestTrust trust;
    write("trust_root_json", "test-trust.json", trust.trust.to_json());
    const crypto::PrivateKey* root_signer[] = {&trust.root};
    write_envelope("root.env", crypto::TrustRoot::sign(trust.trust, root_signer).value());

    const rollout::Approval approval = rollout::testing::sample_approval();
    write("approval_json", "sample.json", approval.to_json());
    write_envelope("approval.env", approval.sign(trust.approvers[0]));

    rollout::Manifest manifest = rollout::testing::sample_manifest();
    write("manifest_json", "without-approvals.json", manifest.to_json());
    for (std::size_t i = 0; i < 3; ++i)
        manifest.bundles[0].approvals.push_back(approval.sign(trust.approvers[i]));
    manifest.emergency = true;
    write("manifest_json", "with-approvals.json", manifest.to_json());
    write_envelope("manifest.env", trust.sign_release(manifest));

    const rollout::AgentCertificate certificate = sample_certificate();
    write("certificate_json", "sample.json", certificate.to_json());
    write_envelope("certificate.env", certificate.sign(trust.enrollment));

    const rollout::ControlRecord control = sample_control();
    write("control_json", "advance.json", control.to_json());
    rollout::ControlRecord pause = control;
    pause.action = rollout::ControlAction::pause;
    pause.sequence = 5;
    write("control_json", "pause.json", pause.to_json());
    write_envelope("control.env", control.sign(trust.operators[0]));

    const rollout::StatusRecord status = sample_status();
    write("status_json", "full.json", status.to_json());
    rollout::StatusRecord quiet;
    quiet.agent = status.agent;
    quiet.boot_id = status.boot_id;
    quiet.time = status.time;
    write("status_json", "empty.json", quiet.to_json());
    write_envelope("status.env", status.sign(test_key(50)));

    crypto::Envelope unsigned_envelope{"patchwave.control", control.to_json(), {}};
    write_envelope("unsigned.env", unsigned_envelope);
}

void keys() {
    const crypto::PrivateKey key = test_key(7);
    write("key_files", "private.key",
          "# Patchwave Ed25519 private key. Keep it secret (mode 0600).\n# public key: " + key.public_key().to_text()
              + "\npatchwave-private-key-v1:ed25519:" + crypto::base64_encode(key.seed()) + "\n");
    write("key_files", "public.txt", key.public_key().to_text());
    std::array<std::uint8_t, 32> secret{};
    for (std::size_t i = 0; i < secret.size(); ++i)
        secret[i] = static_cast<std::uint8_t>(i * 7 + 1);
    write("key_files", "fleet.key", net::gossip::asio_impl::to_text({1, secret}) + "\n");
}

void agent_files() {
    agent::JournalState state;
    state.status_sequence = 42;
    state.trusted_time = at("2026-11-24T12:00:00Z");
    agent::BundleJournal failed;
    failed.id = bundle_id(1);
    failed.state = rollout::HostState::failed;
    failed.since = at("2026-11-24T02:00:00Z");
    failed.step = std::string(agent::step::rollback);
    failed.attempts = 2;
    failed.interrupted = true;
    failed.retry_at = at("2026-11-24T02:10:00Z");
    failed.failed_step = std::string(agent::step::install);
    failed.failure_reason = "exit status 3: \"dpkg: error\"\nsecond line";
    failed.rolled_back = true;
    agent::BundleJournal pending;
    pending.id = bundle_id(2);
    pending.state = rollout::HostState::reboot_pending;
    pending.since = at("2026-11-24T03:00:00Z");
    pending.step = std::string(agent::step::verify);
    pending.needs_reboot = true;
    pending.boot_id = "5f0e7a9c-0000-4000-8000-000000000001";
    pending.bytes_done = 5'000'000'000;
    pending.bytes_total = 5'000'000'000;
    state.rollouts.push_back(agent::RolloutJournal{"2026-11-B", 3, {failed, pending}});
    state.reboot.requested = true;
    state.reboot.boot_id_before = pending.boot_id;
    state.reboot.requested_at = at("2026-11-24T05:00:00Z");
    state.reboot.deferred_until = at("2026-11-24T06:00:00Z");
    state.baseline.push_back(
        agent::TrackedPath{"/etc/ssl/openssl.cnf", std::string(64, 'a'), bundle_id(1), at("2026-11-24T02:05:00Z")});
    state.baseline.push_back(agent::TrackedPath{"/etc/removed.conf", std::nullopt, std::nullopt, {}});
    state.drift.push_back(rollout::DriftFinding{"/etc/watched", std::string(64, 'b'), std::string(64, 'c'),
                                                std::nullopt, at("2026-11-24T07:00:00Z")});
    state.drift_checked = at("2026-11-24T07:00:00Z");
    state.manifest_versions = {{"2026-11-B", 3}};
    state.control_sequences = {{"2026-11-B", 7}};
    write("journal_json", "full.json", agent::to_json(state));
    write("journal_json", "empty.json", agent::to_json(agent::JournalState{}));

    agent::RefusalLog log;
    log.note("manifest 2026-11-B v2", "version is not above the v3 already seen", at("2026-11-24T06:00:00Z"));
    log.note("manifest 2026-11-B v2", "version is not above the v3 already seen", at("2026-11-24T06:10:00Z"));
    log.note("bundle 0707070707070707 of 2026-11-B", "2 approvals, 3 needed", at("2026-11-24T06:20:00Z"));
    write("refusals_json", "two.json", log.to_json());
}

net::gossip::MemberId member(std::uint8_t n) {
    net::gossip::MemberId id{};
    id.fill(n);
    return id;
}

net::gossip::MemberEntry entry(std::uint8_t n) {
    net::gossip::MemberEntry entry;
    entry.id = member(n);
    entry.incarnation = 7u + n;
    entry.address = net::gossip::Address::ipv4({127, 0, 0, n}, 7946);
    entry.roles = net::gossip::kRoleCollector;
    entry.hint.swarm_endpoint = net::gossip::Address::ipv4({127, 0, 0, n}, 6881);
    entry.hint.seeding = {bundle_id(7)};
    return entry;
}

void gossip() {
    using namespace net::gossip;
    const rollout::testing::TestTrust trust;
    const RecordHeader control_header{{RecordType::control, MemberId{}, "2026-11-B"}, 4};
    const auto control_envelope = sample_control().sign(trust.operators[0]).encode().value();
    const RecordPtr record = std::make_shared<Record>(Record{control_header, control_envelope});
    const RecordHeader status_header{{RecordType::status, member(3), ""}, 12};

    std::vector<Bytes> items{*encode_item(AliveItem{entry(1)}), *encode_item(SuspectItem{member(2), 3, member(4)}),
                             *encode_item(DeadItem{member(5), 6, member(5)}), *encode_item(RecordItem{record}),
                             *encode_item(DigestItem{status_header})};
    write("gossip_datagram", "ping-all-items.bin", encode_datagram(Ping{1, member(1), member(2)}, items));
    write("gossip_datagram", "ping-req.bin",
          encode_datagram(PingReq{2, member(3), Address::ipv4({127, 0, 0, 3}, 7946)}));
    write("gossip_datagram", "ack.bin", encode_datagram(Ack{3}, {items[0], items[4]}));
    write("gossip_datagram", "nack.bin", encode_datagram(Nack{4}));
    write("gossip_datagram", "gossip-record.bin", encode_datagram(Gossip{}, {items[3]}));

    State state{{entry(1), entry(2)}, {control_header, status_header}};
    const std::vector<std::pair<std::string, StreamMessage>> messages{
        {"join.bin", JoinRequest{entry(3), sample_certificate().sign(trust.enrollment).encode().value()}},
        {"push-pull.bin", PushPull{member(9), PushPull::kSyncMembers, state}},
        {"push-pull-upstream.bin", PushPull{member(8), PushPull::kWantsUpstream, State{{}, {status_header}}}},
        {"push-pull-reply.bin", PushPullReply{state}},
        {"fetch-certificates.bin", FetchCertificates{{member(1), member(2)}}},
        {"certificates.bin", Certificates{{sample_certificate().sign(trust.enrollment).encode().value()}}},
        {"fetch-records.bin", FetchRecords{{control_header}}},
        {"records.bin", Records{{record}}},
        {"held.bin", Held{{control_header, status_header}}},
        {"refused.bin", Refused{"certificate not admitted: expired"}},
        {"stream-ping.bin", StreamPing{member(4), 9, true}},
        {"pong.bin", Pong{entry(5)}},
    };
    for (const auto& [name, message] : messages)
        write("gossip_stream", name, encode_stream_message(message).value());
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: " << argv[0] << " CORPUS_DIR (tests/fuzz/corpus)\n";
        return 2;
    }
    g_root = argv[1];
    try {
        documents();
        keys();
        agent_files();
        gossip();
    } catch (const std::exception& error) {
        std::cerr << error.what() << "\n";
        return 1;
    }
    std::cout << "seeds written under " << g_root.string() << "\n";
    return 0;
}
