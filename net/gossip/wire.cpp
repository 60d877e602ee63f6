#include "net/gossip/wire.hpp"

#include <algorithm>

namespace patchwave::net::gossip {

void ByteWriter::u16(std::uint16_t value) {
    out_.push_back(static_cast<std::uint8_t>(value >> 8));
    out_.push_back(static_cast<std::uint8_t>(value));
}

void ByteWriter::u32(std::uint32_t value) {
    for (int shift = 24; shift >= 0; shift -= 8)
        out_.push_back(static_cast<std::uint8_t>(value >> shift));
}

void ByteWriter::u64(std::uint64_t value) {
    for (int shift = 56; shift >= 0; shift -= 8)
        out_.push_back(static_cast<std::uint8_t>(value >> shift));
}

void ByteWriter::address(const Address& address) {
    fixed(address.ip);
    u16(address.port);
}

void ByteWriter::header(const RecordHeader& header) {
    u8(static_cast<std::uint8_t>(header.key.type));
    fixed(header.key.origin);
    // Callers validate headers before encoding; the cast cannot truncate then.
    u8(static_cast<std::uint8_t>(header.key.id.size()));
    out_.insert(out_.end(), header.key.id.begin(), header.key.id.end());
    u64(header.version);
}

void ByteWriter::patch_u16(std::size_t offset, std::uint16_t value) {
    out_[offset] = static_cast<std::uint8_t>(value >> 8);
    out_[offset + 1] = static_cast<std::uint8_t>(value);
}

bool ByteReader::take(std::size_t count) {
    if (!ok_ || count > data_.size() - offset_) {
        ok_ = false;
        return false;
    }
    return true;
}

std::uint8_t ByteReader::u8() {
    if (!take(1)) return 0;
    return data_[offset_++];
}

std::uint16_t ByteReader::u16() {
    if (!take(2)) return 0;
    auto value = static_cast<std::uint16_t>((data_[offset_] << 8) | data_[offset_ + 1]);
    offset_ += 2;
    return value;
}

std::uint32_t ByteReader::u32() {
    if (!take(4)) return 0;
    std::uint32_t value = 0;
    for (int i = 0; i < 4; ++i)
        value = (value << 8) | data_[offset_++];
    return value;
}

std::uint64_t ByteReader::u64() {
    if (!take(8)) return 0;
    std::uint64_t value = 0;
    for (int i = 0; i < 8; ++i)
        value = (value << 8) | data_[offset_++];
    return value;
}

ByteView ByteReader::bytes(std::size_t count) {
    if (!take(count)) return {};
    ByteView view = data_.subspan(offset_, count);
    offset_ += count;
    return view;
}

Address ByteReader::address() {
    Address address;
    address.ip = fixed<16>();
    address.port = u16();
    return address;
}

RecordHeader ByteReader::header() {
    RecordHeader header;
    std::uint8_t type = u8();
    header.key.origin = fixed<32>();
    std::uint8_t id_length = u8();
    if (!ok_ || !is_valid_record_type(type) || id_length > RecordKey::kMaxIdLength) {
        ok_ = false;
        return header;
    }
    header.key.type = static_cast<RecordType>(type);
    ByteView id = bytes(id_length);
    header.key.id.assign(id.begin(), id.end());
    header.version = u64();
    if (ok_ && !validate(header)) ok_ = false;
    return header;
}

Status finish_decode(const ByteReader& reader, std::string_view what) {
    if (!reader.ok()) return fail(Errc::parse, std::string(what) + ": truncated or malformed");
    if (reader.remaining() != 0) {
        return fail(Errc::parse, std::string(what) + ": " + std::to_string(reader.remaining()) + " trailing bytes");
    }
    return {};
}

}  // namespace patchwave::net::gossip
