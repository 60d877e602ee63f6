#include "orchestrator/table.hpp"

#include <algorithm>
#include <ostream>

namespace patchwave::orchestrator {
namespace {
// Display width of UTF-8 text: count code points, not bytes (names may hold
// non-ASCII; wide characters are rare enough in ids and hosts to ignore).
std::size_t width(const std::string& text) {
    return static_cast<std::size_t>(
        std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}
}  // namespace

void Table::print(std::ostream& out) const {
    std::vector<std::size_t> widths(headers_.size(), 0);
    const auto measure = [&](const std::vector<std::string>& row) {
        for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) widths[i] = std::max(widths[i], width(row[i]));
    };
    measure(headers_);
    for (const auto& row : rows_) measure(row);
    const auto emit = [&](const std::vector<std::string>& row) {
        for (std::size_t i = 0; i < row.size(); ++i) {
            out << row[i];
            if (i + 1 < row.size()) out << std::string(widths[i] - width(row[i]) + 2, ' ');
        }
        out << '\n';
    };
    emit(headers_);
    for (const auto& row : rows_) emit(row);
}

}  // namespace patchwave::orchestrator
