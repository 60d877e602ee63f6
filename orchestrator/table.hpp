// Plain-text tables for command output: columns sized to their widest cell,
// two spaces apart, so operators can read them and `awk` can split them.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace patchwave::orchestrator {

class Table {
public:
    explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
    void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
    bool empty() const { return rows_.empty(); }
    /// Header, then rows; the last column is not padded.
    void print(std::ostream& out) const;

private:
    std::vector<std::string> headers_;
    std::vector<std::vector<std::string>> rows_;
};

}  // namespace patchwave::orchestrator
