#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "document_fixtures.hpp"
#include "rollout/certificate.hpp"

using namespace patchwave;
using namespace patchwave::rollout;
using namespace patchwave::rollout::testing;

namespace {

const Timestamp kNow = at("2026-11-25T00:00:00Z");

AgentCertificate sample_certificate() {
    AgentCertificate certificate;
    certificate.agent_key = test_key(50).public_key();
    certificate.host = "web-01.example.net";
    certificate.labels = {{"ring", "prod"}, {"zone", "eu-west"}};
    certificate.issued = at("2026-01-01T00:00:00Z");
    certificate.expires = at("2027-01-01T00:00:00Z");
    return certificate;
}

std::string parse_error(const std::string& body) {
    auto certificate = AgentCertificate::parse_json(body);
    REQUIRE_FALSE(certificate);
    return certificate.error().message();
}

}  // namespace

TEST_CASE("certificate: JSON round-trips exactly", "[rollout]") {
    // The exact text, and parse(to_json(c)) == c.
    const AgentCertificate certificate = sample_certificate();
    const std::string json = certificate.to_json();
    CHECK(json == "{\"agent_key\":\"" + certificate.agent_key.to_text() +
                      "\",\"expires\":\"2027-01-01T00:00:00Z\",\"host\":\"web-01.example.net\","
                      "\"issued\":\"2026-01-01T00:00:00Z\",\"labels\":{\"ring\":\"prod\",\"zone\":\"eu-west\"}}");
    auto parsed = AgentCertificate::parse_json(json);
    REQUIRE(parsed);
    CHECK(*parsed == certificate);
    CHECK(parsed->to_json() == json);
    CHECK(parsed->agent_id() == test_key(50).public_key().id());
}

TEST_CASE("certificate: malformed bodies are refused with the field named", "[rollout]") {
    // Bad keys, hosts, labels, inverted validity, unknown and duplicate fields.
    const auto good = nlohmann::json::parse(sample_certificate().to_json());
    auto key = good;
    key["agent_key"] = "rsa:abc";
    CHECK(parse_error(key.dump()) == "certificate: agent_key: public key \"rsa:abc\" does not start with \"ed25519:\"");
    auto host = good;
    host["host"] = "web 01";
    CHECK(parse_error(host.dump()) == "certificate: host: \"web 01\" is not 1-253 characters of [A-Za-z0-9._-]");
    auto label = good;
    label["labels"]["ring"] = "prod/eu";
    CHECK(parse_error(label.dump()) == "certificate: labels.ring: \"prod/eu\" is not 1-63 characters of [A-Za-z0-9._-]");
    auto label_key = good;
    label_key["labels"]["a b"] = "x";
    CHECK(parse_error(label_key.dump()) == "certificate: labels: key \"a b\" is not 1-63 characters of [A-Za-z0-9._-]");
    auto label_type = good;
    label_type["labels"]["ring"] = 1;
    CHECK(parse_error(label_type.dump()) == "certificate: labels.ring: expected a string");
    auto inverted = good;
    inverted["expires"] = "2025-01-01T00:00:00Z";
    CHECK(parse_error(inverted.dump()) ==
          "certificate: expires: 2025-01-01T00:00:00Z is not after issued 2026-01-01T00:00:00Z");
    auto extra = good;
    extra["wave"] = "canary";
    CHECK(parse_error(extra.dump()) == "certificate: wave: unknown field");
    const std::string text = good.dump();
    CHECK(parse_error("{\"host\":\"x\"," + text.substr(1)) == "certificate: invalid JSON: duplicate key \"host\"");
    auto many = good;
    for (int i = 0; i < 33; ++i) many["labels"]["l" + std::to_string(i)] = "v";
    auto limited = AgentCertificate::parse_json(many.dump());
    REQUIRE_FALSE(limited);
    CHECK(limited.error().is(Errc::limit));
    CHECK(limited.error().message() == "certificate: labels: 35 entries, more than 32");
}

TEST_CASE("certificate: an enrollment-signed certificate verifies", "[rollout]") {
    // Type, enrollment threshold, parse, not expired: the certificate comes back.
    TestTrust trust;
    auto verified = verify_certificate(sample_certificate().sign(trust.enrollment), trust.trust, kNow);
    REQUIRE(verified);
    CHECK(*verified == sample_certificate());
}

TEST_CASE("certificate: refusals name the reason", "[rollout]") {
    // Signed by the wrong role, of the wrong type, expired, or under an expired root.
    TestTrust trust;
    auto self_signed = verify_certificate(sample_certificate().sign(test_key(50)), trust.trust, kNow);
    REQUIRE_FALSE(self_signed);
    CHECK(self_signed.error().is(Errc::untrusted));
    CHECK(self_signed.error().message() == "certificate: enrollment: 0 of 1 required signatures (1 by unknown keys)");

    crypto::Envelope retyped = sample_certificate().sign(trust.enrollment);
    retyped.type = "patchwave.status";
    auto wrong_type = verify_certificate(retyped, trust.trust, kNow);
    REQUIRE_FALSE(wrong_type);
    CHECK(wrong_type.error().message() ==
          "certificate: expected a \"patchwave.certificate\" document, got \"patchwave.status\"");

    const crypto::Envelope envelope = sample_certificate().sign(trust.enrollment);
    auto expired = verify_certificate(envelope, trust.trust, at("2027-01-01T00:00:00Z"));
    REQUIRE_FALSE(expired);
    CHECK(expired.error().message() == "certificate of \"web-01.example.net\": expired at 2027-01-01T00:00:00Z");

    crypto::TrustRoot old_root = trust.trust;
    old_root.expires = at("2026-06-01T00:00:00Z");
    auto stale_root = verify_certificate(envelope, old_root, kNow);
    REQUIRE_FALSE(stale_root);
    CHECK(stale_root.error().message() ==
          "certificate: trust root v1 expired at 2026-06-01T00:00:00Z; update the trust root first");
}

TEST_CASE("certificate: relabelling a host breaks the signature", "[rollout]") {
    // A host cannot move itself to another wave by editing its labels.
    TestTrust trust;
    crypto::Envelope envelope = sample_certificate().sign(trust.enrollment);
    envelope.body.replace(envelope.body.find("\"prod\""), 6, "\"test\"");
    auto verified = verify_certificate(envelope, trust.trust, kNow);
    REQUIRE_FALSE(verified);
    CHECK(verified.error().message() == "certificate: enrollment: 0 of 1 required signatures (1 invalid)");
}
