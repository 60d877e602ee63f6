#include "common/metrics_text.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace patchwave {
namespace {

bool is_name_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_name_char(char c) {
    return is_name_start(c) || (c >= '0' && c <= '9');
}

bool valid_metric_name(std::string_view name) {
    if (name.empty() || !(is_name_start(name.front()) || name.front() == ':')) return false;
    return std::all_of(name.begin(), name.end(), [](char c) { return is_name_char(c) || c == ':'; });
}

// Names starting with "__" are reserved for Prometheus itself.
bool valid_label_name(std::string_view name) {
    if (name.empty() || !is_name_start(name.front()) || name.starts_with("__")) return false;
    return std::all_of(name.begin(), name.end(), is_name_char);
}

// The length of the valid UTF-8 sequence at the start of `text`, 0 if there is none.
std::size_t utf8_sequence(std::string_view text) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char first = byte(0);
    std::size_t length = 0;
    std::uint32_t code = 0;
    if (first < 0x80) return 1;
    if (first >= 0xc2 && first <= 0xdf) {
        length = 2;
        code = first & 0x1fu;
    } else if (first >= 0xe0 && first <= 0xef) {
        length = 3;
        code = first & 0x0fu;
    } else if (first >= 0xf0 && first <= 0xf4) {
        length = 4;
        code = first & 0x07u;
    } else {
        return 0;
    }
    if (text.size() < length) return 0;
    for (std::size_t i = 1; i < length; ++i) {
        if ((byte(i) & 0xc0u) != 0x80u) return 0;
        code = (code << 6) | (byte(i) & 0x3fu);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF.
    if ((length == 3 && code < 0x800) || (length == 4 && (code < 0x10000 || code > 0x10ffff))
        || (code >= 0xd800 && code <= 0xdfff)) {
        return 0;
    }
    return length;
}

// Backslash and newline escaped (and '"' too in label values); bytes that
// are not UTF-8 become U+FFFD, since the format is UTF-8 text.
std::string escape(std::string_view text, bool label_value) {
    std::string out;
    out.reserve(text.size());
    while (!text.empty()) {
        const std::size_t length = utf8_sequence(text);
        if (length == 0) {
            out += "\xef\xbf\xbd";
            text.remove_prefix(1);
            continue;
        }
        const char c = text.front();
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '"' && label_value) {
            out += "\\\"";
        } else {
            out.append(text.substr(0, length));
        }
        text.remove_prefix(length);
    }
    return out;
}

}  // namespace

std::string_view to_string(MetricType type) {
    switch (type) {
        case MetricType::counter: return "counter";
        case MetricType::gauge: return "gauge";
        case MetricType::histogram: return "histogram";
    }
    return "untyped";
}

void Histogram::observe(double value) {
    const auto bound = std::lower_bound(bounds.begin(), bounds.end(), value);
    ++buckets[static_cast<std::size_t>(bound - bounds.begin())];
    sum += value;
    ++count;
}

std::string format_metric_value(double value) {
    if (std::isnan(value)) return "NaN";
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    char buffer[64];
    // Whole numbers a double holds exactly print as integers (counters, sizes).
    if (value == std::floor(value) && std::fabs(value) < 9007199254740992.0) {
        const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, static_cast<std::int64_t>(value));
        return std::string(buffer, end);
    }
    const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    return std::string(buffer, end);
}

void MetricsText::problem(std::string message) {
    if (error_.empty()) error_ = std::move(message);
}

void MetricsText::family(std::string_view name, MetricType type, std::string_view help) {
    if (!valid_metric_name(name)) return problem("metric name \"" + std::string(name) + "\" is not valid");
    if (std::find(names_.begin(), names_.end(), name) != names_.end()) {
        return problem("metric family \"" + std::string(name) + "\" appears twice");
    }
    names_.emplace_back(name);
    current_ = name;
    type_ = type;
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += escape(help, false);
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += to_string(type);
    out_ += '\n';
}

void MetricsText::line(std::string_view name, const MetricLabels& labels,
                       const std::pair<std::string, std::string>* extra, std::string_view value) {
    out_ += name;
    if (!labels.empty() || extra != nullptr) {
        out_ += '{';
        bool first = true;
        const auto add = [&](const std::pair<std::string, std::string>& label) {
            if (!valid_label_name(label.first)) {
                problem("label name \"" + label.first + "\" of " + current_ + " is not valid");
            }
            if (!first) out_ += ',';
            first = false;
            out_ += label.first;
            out_ += "=\"";
            out_ += escape(label.second, true);
            out_ += '"';
        };
        for (const auto& label : labels) add(label);
        if (extra != nullptr) add(*extra);
        out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
}

void MetricsText::sample(double value, const MetricLabels& labels) {
    if (current_.empty()) return problem("a sample was added before any metric family");
    if (type_ == MetricType::histogram) return problem(current_ + " is a histogram: add histograms, not samples");
    line(current_, labels, nullptr, format_metric_value(value));
}

void MetricsText::histogram(const Histogram& value, const MetricLabels& labels) {
    if (current_.empty()) return problem("a histogram was added before any metric family");
    if (type_ != MetricType::histogram) return problem(current_ + " is not a histogram family");
    if (value.buckets.size() != value.bounds.size() + 1 || !std::is_sorted(value.bounds.begin(), value.bounds.end())
        || std::adjacent_find(value.bounds.begin(), value.bounds.end()) != value.bounds.end()) {
        return problem(current_ + ": histogram bounds must increase strictly and match its buckets");
    }
    for (const auto& label : labels) {
        if (label.first == "le") return problem(current_ + ": a histogram cannot have its own \"le\" label");
    }
    std::uint64_t cumulative = 0;
    const std::string bucket_name = current_ + "_bucket";
    for (std::size_t i = 0; i <= value.bounds.size(); ++i) {
        cumulative += value.buckets[i];
        const double bound = i < value.bounds.size() ? value.bounds[i] : HUGE_VAL;
        const std::pair<std::string, std::string> le{"le", format_metric_value(bound)};
        line(bucket_name, labels, &le, format_metric_value(static_cast<double>(cumulative)));
    }
    line(current_ + "_sum", labels, nullptr, format_metric_value(value.sum));
    line(current_ + "_count", labels, nullptr, format_metric_value(static_cast<double>(value.count)));
}

Result<std::string> MetricsText::finish() && {
    if (!error_.empty()) return fail(Errc::internal, "metrics: " + error_);
    return std::move(out_);
}

}  // namespace patchwave
