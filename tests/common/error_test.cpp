#include <catch2/catch.hpp>

#include "common/error.hpp"

using namespace patchwave;

TEST_CASE("context is prepended as errors travel up", "[common]") {
    // The outermost context comes first; the code is kept.
    const Error inner(Errc::untrusted, "2 of 3 required signatures");
    const Error outer = inner.with_context("manifest \"2026-11-B\"").with_context("loading rollout");
    CHECK(outer.message() == "loading rollout: manifest \"2026-11-B\": 2 of 3 required signatures");
    CHECK(outer.is(Errc::untrusted));
    CHECK_FALSE(outer.is(Errc::io));
}

TEST_CASE("exit codes follow the CLI contract", "[common]") {
    // 3 untrusted, 2 bad input, 1 everything else.
    CHECK(exit_code_for(Error(Errc::untrusted, "x")) == 3);
    CHECK(exit_code_for(Error(Errc::invalid_argument, "x")) == 2);
    CHECK(exit_code_for(Error(Errc::parse, "x")) == 2);
    CHECK(exit_code_for(Error(Errc::io, "x")) == 1);
    CHECK(exit_code_for(Error(Errc::not_found, "x")) == 1);
}

TEST_CASE("with_context on a Result passes success through", "[common]") {
    // Only failures gain context.
    Result<int> good = 7;
    CHECK(with_context(std::move(good), "ctx").value() == 7);
    Result<int> bad = fail(Errc::io, "disk full");
    auto wrapped = with_context(std::move(bad), "writing journal");
    REQUIRE_FALSE(wrapped);
    CHECK(wrapped.error().message() == "writing journal: disk full");
}
