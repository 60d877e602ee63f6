#include <catch2/catch.hpp>
#include <cmath>

#include "common/metrics_text.hpp"

using namespace patchwave;

TEST_CASE("metrics text has HELP and TYPE lines before the samples", "[common]") {
    // Each family: HELP, TYPE, then its samples, labels in the order given.
    MetricsText text;
    text.family("patchwave_hosts", MetricType::gauge, "Hosts by state.");
    text.sample(3, {{"state", "installed"}, {"wave", "test"}});
    text.sample(0);
    text.family("patchwave_bytes_total", MetricType::counter, "Bytes.");
    text.sample(1.5);
    CHECK(std::move(text).finish().value()
          == "# HELP patchwave_hosts Hosts by state.\n"
             "# TYPE patchwave_hosts gauge\n"
             "patchwave_hosts{state=\"installed\",wave=\"test\"} 3\n"
             "patchwave_hosts 0\n"
             "# HELP patchwave_bytes_total Bytes.\n"
             "# TYPE patchwave_bytes_total counter\n"
             "patchwave_bytes_total 1.5\n");
}

TEST_CASE("label values and help text are escaped as the format says", "[common]") {
    // Label values escape backslash, quote and newline; HELP escapes backslash and newline only.
    MetricsText text;
    text.family("m", MetricType::gauge, "a \\ b\nc \"d\"");
    text.sample(1, {{"v", "x\"y\\z\nw"}});
    CHECK(std::move(text).finish().value()
          == "# HELP m a \\\\ b\\nc \"d\"\n# TYPE m gauge\nm{v=\"x\\\"y\\\\z\\nw\"} 1\n");
}

TEST_CASE("bytes that are not UTF-8 become U+FFFD in label values", "[common]") {
    // The format is UTF-8 text: a stray byte must not make the whole scrape unreadable.
    MetricsText text;
    text.family("m", MetricType::gauge, "h");
    text.sample(1, {{"v", std::string("a\xff" "b\xc3\xa9")}});
    CHECK(std::move(text).finish().value() == "# HELP m h\n# TYPE m gauge\nm{v=\"a\xef\xbf\xbd" "b\xc3\xa9\"} 1\n");
}

TEST_CASE("metric values print as integers, shortest decimals or the special names", "[common]") {
    // Integers without a fraction; other values round-trip; Inf and NaN as Prometheus spells them.
    CHECK(format_metric_value(0) == "0");
    CHECK(format_metric_value(-3) == "-3");
    CHECK(format_metric_value(1234567890123.0) == "1234567890123");
    CHECK(format_metric_value(0.1) == "0.1");
    CHECK(format_metric_value(2.5e-7) == "2.5e-07");
    CHECK(format_metric_value(1e300) == "1e+300");
    CHECK(format_metric_value(HUGE_VAL) == "+Inf");
    CHECK(format_metric_value(-HUGE_VAL) == "-Inf");
    CHECK(format_metric_value(std::nan("")) == "NaN");
}

TEST_CASE("a histogram writes cumulative buckets, +Inf, sum and count", "[common]") {
    // le="+Inf" equals the count; buckets count observations at or below their bound.
    Histogram histogram({0.5, 2});
    histogram.observe(0.5);
    histogram.observe(1);
    histogram.observe(10);
    MetricsText text;
    text.family("step_seconds", MetricType::histogram, "Step durations.");
    text.histogram(histogram, {{"step", "install"}});
    CHECK(std::move(text).finish().value()
          == "# HELP step_seconds Step durations.\n"
             "# TYPE step_seconds histogram\n"
             "step_seconds_bucket{step=\"install\",le=\"0.5\"} 1\n"
             "step_seconds_bucket{step=\"install\",le=\"2\"} 2\n"
             "step_seconds_bucket{step=\"install\",le=\"+Inf\"} 3\n"
             "step_seconds_sum{step=\"install\"} 11.5\n"
             "step_seconds_count{step=\"install\"} 3\n");
}

TEST_CASE("bad metric and label names and misplaced samples are refused", "[common]") {
    // Each mistake is reported by finish() with what was wrong.
    const auto error_of = [](auto build) {
        MetricsText text;
        build(text);
        auto result = std::move(text).finish();
        return result ? std::string() : result.error().message();
    };
    CHECK(error_of([](MetricsText& t) { t.family("1abc", MetricType::gauge, "h"); })
          == "metrics: metric name \"1abc\" is not valid");
    CHECK(error_of([](MetricsText& t) {
              t.family("m", MetricType::gauge, "h");
              t.family("m", MetricType::gauge, "h");
          }) == "metrics: metric family \"m\" appears twice");
    CHECK(error_of([](MetricsText& t) {
              t.family("m", MetricType::gauge, "h");
              t.sample(1, {{"__reserved", "x"}});
          }) == "metrics: label name \"__reserved\" of m is not valid");
    CHECK(error_of([](MetricsText& t) {
              t.family("m", MetricType::gauge, "h");
              t.sample(1, {{"bad-name", "x"}});
          }) == "metrics: label name \"bad-name\" of m is not valid");
    CHECK(error_of([](MetricsText& t) { t.sample(1); }) == "metrics: a sample was added before any metric family");
    CHECK(error_of([](MetricsText& t) {
              t.family("h", MetricType::histogram, "h");
              t.sample(1);
          }) == "metrics: h is a histogram: add histograms, not samples");
    CHECK(error_of([](MetricsText& t) {
              t.family("h", MetricType::histogram, "h");
              t.histogram(Histogram({1}), {{"le", "1"}});
          }) == "metrics: h: a histogram cannot have its own \"le\" label");
    CHECK(error_of([](MetricsText& t) {
              t.family("h", MetricType::histogram, "h");
              t.histogram(Histogram({2, 1}));
          }) == "metrics: h: histogram bounds must increase strictly and match its buckets");
}
