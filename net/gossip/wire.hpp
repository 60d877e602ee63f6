// Byte-level reading and writing for the gossip codecs: big-endian integers
// and fixed fields, where every read is bounds-checked and a short input is an error.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "net/gossip/address.hpp"
#include "net/gossip/record.hpp"
#include "net/gossip/transport.hpp"

namespace patchwave::net::gossip {

/// Appends big-endian fields to a byte vector.
class ByteWriter {
public:
    explicit ByteWriter(Bytes& out) : out_(out) {}

    void u8(std::uint8_t value) { out_.push_back(value); }
    void u16(std::uint16_t value);
    void u32(std::uint32_t value);
    void u64(std::uint64_t value);
    void bytes(ByteView data) { out_.insert(out_.end(), data.begin(), data.end()); }
    template <std::size_t N>
    void fixed(const std::array<std::uint8_t, N>& data) {
        out_.insert(out_.end(), data.begin(), data.end());
    }
    void address(const Address& address);
    /// type u8, origin 32, id length u8, id, version u64.
    void header(const RecordHeader& header);

    std::size_t size() const { return out_.size(); }
    /// Overwrites a u16 written earlier at `offset` (for length prefixes).
    void patch_u16(std::size_t offset, std::uint16_t value);

private:
    Bytes& out_;
};

/// Reads big-endian fields from a span. The first read past the end sets a
/// sticky failure: later reads return zeros, and ok() stays false, so a
/// decoder can read a whole structure and check once.
class ByteReader {
public:
    explicit ByteReader(ByteView data) : data_(data) {}

    std::uint8_t u8();
    std::uint16_t u16();
    std::uint32_t u32();
    std::uint64_t u64();
    /// The next `count` bytes (empty and failed when fewer remain).
    ByteView bytes(std::size_t count);
    template <std::size_t N>
    std::array<std::uint8_t, N> fixed() {
        std::array<std::uint8_t, N> out{};
        ByteView view = bytes(N);
        if (view.size() == N) std::copy(view.begin(), view.end(), out.begin());
        return out;
    }
    Address address();
    /// Reads a header and validates it (type, id length); a bad one fails the reader.
    RecordHeader header();

    bool ok() const { return ok_; }
    std::size_t remaining() const { return data_.size() - offset_; }
    bool at_end() const { return ok_ && offset_ == data_.size(); }
    /// Marks the input invalid (a decoder found a bad value).
    void invalidate() { ok_ = false; }

private:
    bool take(std::size_t count);

    ByteView data_;
    std::size_t offset_ = 0;
    bool ok_ = true;
};

/// Errc::parse "<what>: truncated" or "<what>: N trailing bytes" when the
/// reader failed or did not reach the end, ok otherwise.
Status finish_decode(const ByteReader& reader, std::string_view what);

}  // namespace patchwave::net::gossip
