// Prometheus text exposition format 0.0.4: metric families with their HELP and
// TYPE lines and samples with escaped labels, as both daemons serve on /metrics.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace patchwave {

/// The media type a scraper expects for this format.
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

enum class MetricType { counter, gauge, histogram };
/// "counter", "gauge", "histogram".
std::string_view to_string(MetricType type);

/// Label name and value pairs, written in this order.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

/// Observations in fixed buckets, as a histogram family exposes them.
struct Histogram {
    /// Upper bounds, strictly increasing; the +Inf bucket is implied.
    std::vector<double> bounds;
    /// Observations per bucket (not cumulative): bounds.size() + 1 entries,
    /// the last one for values above every bound.
    std::vector<std::uint64_t> buckets;
    double sum = 0;
    std::uint64_t count = 0;

    explicit Histogram(std::vector<double> upper_bounds = {})
        : bounds(std::move(upper_bounds)), buckets(bounds.size() + 1, 0) {}
    void observe(double value);
};

/// Builds one exposition. Names and labels are checked as they are added;
/// the first problem is kept and reported by finish() (they are the
/// program's own constants, so a problem is a bug, never a scraper's fault).
class MetricsText {
public:
    /// Starts a family: `# HELP` and `# TYPE` lines. Samples added after it
    /// belong to it. A name must match [a-zA-Z_:][a-zA-Z0-9_:]* and appear once.
    void family(std::string_view name, MetricType type, std::string_view help);
    /// One sample of the current counter or gauge family.
    void sample(double value, const MetricLabels& labels = {});
    /// The _bucket, _sum and _count samples of the current histogram family.
    void histogram(const Histogram& value, const MetricLabels& labels = {});

    /// The text, or Errc::internal naming the first bad name, label or call.
    Result<std::string> finish() &&;

private:
    void line(std::string_view name, const MetricLabels& labels, const std::pair<std::string, std::string>* extra,
              std::string_view value);
    void problem(std::string message);

    std::string out_;
    std::vector<std::string> names_;
    std::string current_;
    MetricType type_ = MetricType::gauge;
    std::string error_;
};

/// A value as the format writes it: integers without a fraction, others in
/// the shortest form that reads back exactly, "+Inf", "-Inf", "NaN".
std::string format_metric_value(double value);

}  // namespace patchwave
