// Membership rules (incarnations, suspicion, refutation), Lifeguard timing,
// the broadcast queue and the record store, each on its own.
#include "net/gossip/membership.hpp"

#include <algorithm>

#include <catch2/catch.hpp>

#include "net/gossip/broadcast_queue.hpp"
#include "net/gossip/record_store.hpp"
#include "net/gossip/sim/fake_verifier.hpp"
#include "net/gossip/suspicion.hpp"

using namespace patchwave;
using namespace patchwave::net::gossip;
using namespace std::chrono_literals;

namespace {

MemberEntry entry_for(std::uint32_t index, std::uint32_t incarnation = 1) {
    MemberEntry entry;
    entry.id = sim::fake_member_id(index);
    entry.incarnation = incarnation;
    entry.address = Address::for_sim_index(index);
    return entry;
}

/// Counts verifier calls, and refuses what it is told to.
class CountingVerifier final : public RecordVerifier {
public:
    Result<MemberIdentity> admit_member(ByteView) override { return fail(Errc::untrusted, "no"); }
    Bytes certificate(const MemberId&) const override { return {}; }
    void forget_member(const MemberId&) override {}
    Status verify_record(const RecordHeader&, ByteView envelope, std::uint64_t) override {
        ++calls;
        if (!envelope.empty() && envelope[0] == 0xbd) return fail(Errc::untrusted, "bad signature");
        return {};
    }
    int calls = 0;
};

RecordPtr record(std::uint64_t version, std::size_t size = 10, std::uint8_t fill = 0x01) {
    return std::make_shared<Record>(Record{{{RecordType::manifest, MemberId{}, "r"}, version}, Bytes(size, fill)});
}

}  // namespace

TEST_CASE("alive news about a member wins only with a higher incarnation", "[gossip]") {
    // Equal or older incarnations are ignored; a newer one updates address and state.
    MemberList list(entry_for(0), 0);
    REQUIRE(list.add(entry_for(1, 5), 0));
    CHECK(list.apply_alive(entry_for(1, 5), 1) == Outcome::ignored);
    CHECK(list.apply_alive(entry_for(1, 4), 1) == Outcome::ignored);
    MemberEntry moved = entry_for(1, 6);
    moved.address = Address::for_sim_index(99);
    CHECK(list.apply_alive(moved, 1) == Outcome::changed);
    CHECK(list.find(entry_for(1).id)->address == Address::for_sim_index(99));
    CHECK(list.apply_alive(entry_for(7), 1) == Outcome::ignored);  // unknown: admission is the node's job
}

TEST_CASE("a suspect is refuted only by a higher incarnation, and suspicion of oneself asks for refutation",
          "[gossip]") {
    // SWIM ordering: suspect(i) beats alive(i); alive(i+1) beats suspect(i); news about self is refuted.
    MemberList list(entry_for(0), 0);
    REQUIRE(list.add(entry_for(1, 3), 0));
    const MemberId accuser = entry_for(2).id;
    CHECK(list.apply_suspect({entry_for(1).id, 2, accuser}, 1) == Outcome::ignored);  // older
    CHECK(list.apply_suspect({entry_for(1).id, 3, accuser}, 1) == Outcome::changed);
    CHECK(list.find(entry_for(1).id)->state == MemberState::suspect);
    CHECK(list.live_count() == 2);
    CHECK(list.apply_suspect({entry_for(1).id, 3, entry_for(3).id}, 1) == Outcome::confirmed);
    CHECK(list.apply_alive(entry_for(1, 3), 1) == Outcome::ignored);
    CHECK(list.apply_alive(entry_for(1, 4), 1) == Outcome::changed);
    CHECK(list.find(entry_for(1).id)->state == MemberState::alive);

    CHECK(list.apply_suspect({entry_for(0).id, 0, accuser}, 1) == Outcome::ignored);  // older than ours
    CHECK(list.apply_suspect({entry_for(0).id, 1, accuser}, 1) == Outcome::refute);
    list.refute_self(1);
    CHECK(list.self().incarnation == 2);
    CHECK(list.apply_dead({entry_for(0).id, 1, accuser}, 1) == Outcome::ignored);  // older than the refutation
    CHECK(list.apply_dead({entry_for(0).id, 2, accuser}, 1) == Outcome::refute);
}

TEST_CASE("dead and left members stop counting as live and ignore older news", "[gossip]") {
    // A dead member stays dead until a strictly newer alive arrives.
    MemberList list(entry_for(0), 0);
    REQUIRE(list.add(entry_for(1, 3), 0));
    REQUIRE(list.add(entry_for(2, 3), 0));
    CHECK(list.apply_dead({entry_for(1).id, 3, entry_for(2).id}, 5) == Outcome::changed);
    CHECK(list.find(entry_for(1).id)->state == MemberState::dead);
    CHECK(list.find(entry_for(1).id)->state_since_s == 5);
    CHECK(list.apply_suspect({entry_for(1).id, 3, entry_for(2).id}, 6) == Outcome::ignored);
    CHECK(list.apply_alive(entry_for(1, 3), 6) == Outcome::ignored);
    CHECK(list.apply_dead({entry_for(2).id, 3, entry_for(2).id}, 6) == Outcome::changed);
    CHECK(list.find(entry_for(2).id)->state == MemberState::left);
    CHECK(list.live_count() == 1);
    CHECK(list.apply_alive(entry_for(1, 4), 7) == Outcome::changed);
    CHECK(list.live_count() == 2);
}

TEST_CASE("the member index stays consistent through adds, removals and shuffles", "[gossip]") {
    // Every remaining member is found at its slot after 2,000 mixed operations.
    MemberList list(entry_for(0), 0);
    Rng rng(5);
    std::vector<std::uint32_t> present;
    for (std::uint32_t i = 1; i <= 1500; ++i) {
        REQUIRE(list.add(entry_for(i), 0));
        present.push_back(i);
    }
    for (int round = 0; round < 500; ++round) {
        std::size_t victim = rng.below(present.size());
        list.remove(entry_for(present[victim]).id);
        present.erase(present.begin() + static_cast<std::ptrdiff_t>(victim));
        if (round % 100 == 0) list.shuffle(rng);
    }
    REQUIRE(list.size() == present.size() + 1);
    for (std::uint32_t index : present) {
        auto slot = list.slot_of(entry_for(index).id);
        REQUIRE(slot);
        CHECK(list.at(*slot).id == entry_for(index).id);
    }
    CHECK(list.find(entry_for(1501).id) == nullptr);
    list.remove(entry_for(0).id);  // never removes itself
    CHECK(list.find(entry_for(0).id) != nullptr);
}

TEST_CASE("random member choice is distinct, excludes self and respects the filter", "[gossip]") {
    // k picks among accepted members only, never the node itself, never twice.
    MemberList list(entry_for(0), 0);
    for (std::uint32_t i = 1; i <= 10; ++i)
        REQUIRE(list.add(entry_for(i), 0));
    Rng rng(3);
    auto picked = list.random_slots(4, rng, [](const Member& m) { return m.address.sim_index() >= 5u; });
    REQUIRE(picked.size() == 4);
    std::sort(picked.begin(), picked.end());
    CHECK(std::adjacent_find(picked.begin(), picked.end()) == picked.end());
    for (auto slot : picked)
        CHECK(*list.at(slot).address.sim_index() >= 5);
    CHECK(list.random_slots(3, rng, [](const Member&) { return false; }).empty());
}

TEST_CASE("the suspicion timeout shrinks with independent confirmations, never below its minimum", "[gossip]") {
    // Lifeguard: max with none, min after k, logarithmic between; repeated accusers count once.
    auto bounds = suspicion_bounds(4, 6, 1000, 1s);
    CHECK(bounds.min == 12s);  // 4 * log10(1000) * 1 s
    CHECK(bounds.max == 72s);
    CHECK(suspicion_timeout(0, 2, bounds) == 72s);
    CHECK(suspicion_timeout(2, 2, bounds) == 12s);
    Micros one = suspicion_timeout(1, 2, bounds);
    CHECK(one < 72s);
    CHECK(one > 12s);
    CHECK(suspicion_timeout(5, 2, bounds) == 12s);
    CHECK(suspicion_timeout(0, 0, bounds) == 12s);
    CHECK(suspicion_bounds(4, 6, 3, 1s).min == 4s);  // log10 below 1 counts as 1

    Instant start{};
    Suspicion suspicion(sim::fake_member_id(1), 2, bounds, start);
    CHECK(suspicion.deadline() == start + 72s);
    CHECK_FALSE(suspicion.confirm(sim::fake_member_id(1)));  // the first accuser is no confirmation
    CHECK(suspicion.confirm(sim::fake_member_id(2)));
    CHECK_FALSE(suspicion.confirm(sim::fake_member_id(2)));
    CHECK(suspicion.deadline() == start + one);
    CHECK(suspicion.confirm(sim::fake_member_id(3)));
    CHECK(suspicion.deadline() == start + 12s);
    CHECK_FALSE(suspicion.confirm(sim::fake_member_id(4)));  // already at the minimum
}

TEST_CASE("local health stretches timeouts within its bounds", "[gossip]") {
    // The multiplier is score + 1, the score stays in [0, max - 1].
    Awareness awareness(8);
    CHECK(awareness.scale(500ms) == 500ms);
    awareness.apply(3);
    CHECK(awareness.scale(500ms) == 2000ms);
    awareness.apply(100);
    CHECK(awareness.score() == 7);
    awareness.apply(-100);
    CHECK(awareness.score() == 0);
}

TEST_CASE("broadcasts go out least-sent first, a limited number of times, newest news replacing older", "[gossip]") {
    // Retransmit limit, replacement by subject and the capacity bound all hold.
    CHECK(retransmit_limit(4, 1000) == 16);
    CHECK(retransmit_limit(4, 10'000) == 20);
    CHECK(retransmit_limit(4, 1) == 4);

    BroadcastQueue queue(3);
    auto item = [](std::uint32_t i, std::uint32_t incarnation) {
        return *encode_item(SuspectItem{sim::fake_member_id(i), incarnation, sim::fake_member_id(0)});
    };
    queue.push(subject_of_member(sim::fake_member_id(1)), item(1, 1));
    queue.push(subject_of_member(sim::fake_member_id(1)), item(1, 2));  // replaces the first
    CHECK(queue.size() == 1);
    for (int send = 0; send < 2; ++send) {
        DatagramBuilder builder(Gossip{}, 1400);
        CHECK(queue.fill(builder, 2) == 1);
        auto decoded = decode_datagram(std::move(builder).finish());
        REQUIRE(decoded);
        CHECK(std::get<SuspectItem>(decoded->items[0]).incarnation == 2);
    }
    CHECK(queue.empty());  // sent twice: its limit

    for (std::uint32_t i = 1; i <= 4; ++i)
        queue.push(subject_of_member(sim::fake_member_id(i)), item(i, 1));
    CHECK(queue.size() == 3);                         // capacity
    DatagramBuilder small(Gossip{}, 5 + 1 + 3 + 68);  // room for exactly one item
    CHECK(queue.fill(small, 10) == 1);
    auto decoded = decode_datagram(std::move(small).finish());
    REQUIRE(decoded);
    CHECK(std::get<SuspectItem>(decoded->items[0]).id == sim::fake_member_id(4));  // newest first
}

TEST_CASE("the record store replaces only with a higher version, verifying before it stores", "[gossip]") {
    // Stale offers cost no verification; refused and over-cap records are not stored.
    CountingVerifier verifier;
    RecordStore store(verifier, 2, 1000);
    CHECK(store.offer(record(2)) == OfferResult::stored);
    CHECK(verifier.calls == 1);
    CHECK(store.offer(record(2)) == OfferResult::stale);
    CHECK(store.offer(record(1)) == OfferResult::stale);
    CHECK(verifier.calls == 1);  // a replay costs no signature check

    auto forged = store.offer(record(3, 10, 0xbd));
    REQUIRE_FALSE(forged);
    CHECK(forged.error().is(Errc::untrusted));
    CHECK(store.version_of(record(1)->header.key) == 2);

    CHECK(store.offer(record(4, 20)) == OfferResult::stored);
    CHECK(store.find(record(1)->header.key)->envelope.size() == 20);
    CHECK(store.bytes() == 20);

    auto other = [](std::string id, std::size_t size) {
        return std::make_shared<Record>(Record{{{RecordType::manifest, MemberId{}, std::move(id)}, 1}, Bytes(size, 1)});
    };
    CHECK(store.offer(other("a", 10)) == OfferResult::stored);
    CHECK(store.offer(other("b", 10)).error().is(Errc::limit));  // count cap
    CHECK(store.offer(record(5, 991)).error().is(Errc::limit));  // byte cap
    CHECK(store.offer(record(5, 0)).error().is(Errc::limit));    // empty envelope
    CHECK(store.size() == 2);
}
