// AsioClock: timers fire once, in order, never early and never inline;
// cancelled ones and those of a destroyed clock never run.
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "loop_support.hpp"
#include "net/gossip/asio/asio_clock.hpp"

using namespace patchwave::net::gossip;
using namespace patchwave::net::gossip::asio_impl;
using namespace patchwave::net::gossip::testing;
using namespace std::chrono_literals;

TEST_CASE("asio clock fires timers in deadline order, no earlier than asked", "[gossip-net]") {
    // Three timers scheduled out of order run 10/20/30 ms later, in deadline order, each once.
    boost::asio::io_context io;
    AsioClock clock(io);
    std::vector<int> fired;
    std::vector<Micros> late;
    const Instant start = clock.now();
    for (int ms : {30, 10, 20}) {
        clock.schedule(std::chrono::milliseconds(ms), [&, ms] {
            fired.push_back(ms);
            late.push_back(clock.now() - start - std::chrono::milliseconds(ms));
        });
    }
    CHECK(clock.pending() == 3);
    REQUIRE(run_until(
        io, [&] { return fired.size() == 3; }, 2000ms));
    CHECK(fired == std::vector<int>{10, 20, 30});
    for (auto lateness : late)
        CHECK(lateness >= Micros(0));
    CHECK(clock.pending() == 0);
    run_for(io, 50ms);
    CHECK(fired.size() == 3);
}

TEST_CASE("asio clock never runs a callback inline, and treats a negative delay as zero", "[gossip-net]") {
    // schedule() returns before its callback runs, even for a delay below zero.
    boost::asio::io_context io;
    AsioClock clock(io);
    bool ran = false;
    const TimerId id = clock.schedule(Micros(-5000), [&] { ran = true; });
    CHECK(id != 0);
    CHECK_FALSE(ran);
    REQUIRE(run_until(
        io, [&] { return ran; }, 1000ms));
}

TEST_CASE("asio clock cancel stops a timer, unknown and fired ids are ignored", "[gossip-net]") {
    // A cancelled timer never fires; cancelling twice, or an id that fired, changes nothing.
    boost::asio::io_context io;
    AsioClock clock(io);
    int cancelled_runs = 0;
    int kept_runs = 0;
    const TimerId cancelled = clock.schedule(10ms, [&] { ++cancelled_runs; });
    const TimerId kept = clock.schedule(20ms, [&] { ++kept_runs; });
    clock.cancel(cancelled);
    clock.cancel(cancelled);
    clock.cancel(987654);
    REQUIRE(run_until(
        io, [&] { return kept_runs == 1; }, 1000ms));
    clock.cancel(kept);
    run_for(io, 30ms);
    CHECK(cancelled_runs == 0);
    CHECK(kept_runs == 1);
}

TEST_CASE("asio clock cancels a timer that expired but has not run yet", "[gossip-net]") {
    // Both timers are due when the loop wakes; the first cancels the second, which must not run.
    boost::asio::io_context io;
    AsioClock clock(io);
    bool second_ran = false;
    TimerId second = 0;
    bool first_ran = false;
    clock.schedule(1ms, [&] {
        first_ran = true;
        clock.cancel(second);
    });
    second = clock.schedule(1ms, [&] { second_ran = true; });
    std::this_thread::sleep_for(20ms);  // both expire before the loop runs
    REQUIRE(run_until(
        io, [&] { return first_ran; }, 1000ms));
    run_for(io, 20ms);
    CHECK_FALSE(second_ran);
}

TEST_CASE("asio clock destroyed with timers pending runs none of them", "[gossip-net]") {
    // The io_context outlives the clock; the aborted waits must not touch it.
    boost::asio::io_context io;
    bool ran = false;
    {
        auto clock = std::make_unique<AsioClock>(io);
        clock->schedule(5ms, [&] { ran = true; });
        clock->schedule(0ms, [&] { ran = true; });
    }
    run_for(io, 30ms);
    CHECK_FALSE(ran);
}

TEST_CASE("asio clock time is monotonic and callbacks may schedule more", "[gossip-net]") {
    // A callback that reschedules itself ten times (the node's tick pattern) runs ten times.
    boost::asio::io_context io;
    AsioClock clock(io);
    int ticks = 0;
    Instant last = clock.now();
    bool monotonic = true;
    std::function<void()> tick = [&] {
        monotonic = monotonic && clock.now() >= last;
        last = clock.now();
        if (++ticks < 10) clock.schedule(1ms, tick);
    };
    clock.schedule(1ms, tick);
    REQUIRE(run_until(
        io, [&] { return ticks == 10; }, 2000ms));
    CHECK(monotonic);
}
