#include "crypto/envelope.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

namespace patchwave::crypto {
namespace {

constexpr std::array<std::uint8_t, 4> kMagic{'P', 'W', 'E', 1};
constexpr std::string_view kSigningContext = "patchwave-signature-v1";
constexpr std::size_t kSignatureRecordSize = 32 + 64;

// resize + memcpy rather than vector::insert: g++ 12 at -O2 reports a false
// -Wstringop-overflow for inserting a constant string_view's range.
void append(std::vector<std::uint8_t>& out, const void* data, std::size_t size) {
    if (size == 0) return;
    const std::size_t offset = out.size();
    out.resize(offset + size);
    std::memcpy(out.data() + offset, data, size);
}
void append(std::vector<std::uint8_t>& out, std::string_view text) { append(out, text.data(), text.size()); }

void put_u32(std::vector<std::uint8_t>& out, std::uint32_t value) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(value >> shift));
}

// Reads the wire format front to back; every read checks what is left first.
class Reader {
public:
    explicit Reader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}
    std::size_t left() const { return bytes_.size() - offset_; }
    std::size_t offset() const { return offset_; }
    bool take(std::size_t count, std::span<const std::uint8_t>& out) {
        if (left() < count) return false;
        out = bytes_.subspan(offset_, count);
        offset_ += count;
        return true;
    }
    bool u8(std::uint8_t& out) {
        std::span<const std::uint8_t> raw;
        if (!take(1, raw)) return false;
        out = raw[0];
        return true;
    }
    bool u32(std::uint32_t& out) {
        std::span<const std::uint8_t> raw;
        if (!take(4, raw)) return false;
        out = static_cast<std::uint32_t>(raw[0]) << 24 | static_cast<std::uint32_t>(raw[1]) << 16 |
              static_cast<std::uint32_t>(raw[2]) << 8 | raw[3];
        return true;
    }

private:
    std::span<const std::uint8_t> bytes_;
    std::size_t offset_ = 0;
};

std::unexpected<Error> truncated(const Reader& reader, std::string_view what) {
    return fail(Errc::parse, "envelope truncated at byte " + std::to_string(reader.offset()) + " (reading " +
                                 std::string(what) + ")");
}

}  // namespace

bool is_valid_envelope_type(std::string_view type) {
    return !type.empty() && type.size() <= Envelope::kMaxTypeLength &&
           std::all_of(type.begin(), type.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
           });
}

std::vector<std::uint8_t> Envelope::signing_message() const {
    std::vector<std::uint8_t> message;
    message.reserve(kSigningContext.size() + 1 + 1 + type.size() + 8 + body.size());
    append(message, kSigningContext);
    message.push_back(0);
    message.push_back(static_cast<std::uint8_t>(type.size()));
    append(message, type);
    const std::uint64_t length = body.size();
    for (int shift = 56; shift >= 0; shift -= 8) message.push_back(static_cast<std::uint8_t>(length >> shift));
    append(message, body);
    return message;
}

void Envelope::sign(const PrivateKey& key) {
    signatures.push_back({key.public_key().id(), key.sign(signing_message())});
}

Result<std::vector<std::uint8_t>> Envelope::encode() const {
    if (!is_valid_envelope_type(type)) {
        return fail(Errc::invalid_argument, "envelope type \"" + type + "\" is not 1-64 characters of [a-z0-9.-]");
    }
    if (body.size() > std::numeric_limits<std::uint32_t>::max()) {
        return fail(Errc::invalid_argument, "envelope body of " + std::to_string(body.size()) + " bytes is too large");
    }
    if (signatures.size() > kMaxSignatures) {
        return fail(Errc::invalid_argument, "envelope has " + std::to_string(signatures.size()) +
                                                " signatures, more than " + std::to_string(kMaxSignatures));
    }
    std::vector<std::uint8_t> out;
    out.reserve(4 + 1 + type.size() + 4 + body.size() + 1 + signatures.size() * kSignatureRecordSize);
    append(out, kMagic.data(), kMagic.size());
    out.push_back(static_cast<std::uint8_t>(type.size()));
    append(out, type);
    put_u32(out, static_cast<std::uint32_t>(body.size()));
    append(out, body);
    out.push_back(static_cast<std::uint8_t>(signatures.size()));
    for (const auto& entry : signatures) {
        append(out, entry.key_id.data(), entry.key_id.size());
        append(out, entry.signature.data(), entry.signature.size());
    }
    return out;
}

Result<Envelope> Envelope::decode(std::span<const std::uint8_t> bytes, std::size_t max_size) {
    if (bytes.size() > max_size) {
        return fail(Errc::limit, "envelope of " + std::to_string(bytes.size()) + " bytes exceeds the cap of " +
                                     std::to_string(max_size));
    }
    Reader reader(bytes);
    std::span<const std::uint8_t> raw;
    if (!reader.take(kMagic.size(), raw)) return truncated(reader, "magic");
    if (!std::equal(raw.begin(), raw.end(), kMagic.begin())) {
        return fail(Errc::parse, "not a Patchwave envelope (bad magic or unsupported format version)");
    }
    Envelope envelope;
    std::uint8_t type_length = 0;
    if (!reader.u8(type_length)) return truncated(reader, "type length");
    if (!reader.take(type_length, raw)) return truncated(reader, "type");
    envelope.type.assign(raw.begin(), raw.end());
    if (!is_valid_envelope_type(envelope.type)) {
        return fail(Errc::parse, "envelope type is not 1-64 characters of [a-z0-9.-]");
    }
    std::uint32_t body_length = 0;
    if (!reader.u32(body_length)) return truncated(reader, "body length");
    if (!reader.take(body_length, raw)) return truncated(reader, "body");
    envelope.body.assign(raw.begin(), raw.end());
    std::uint8_t count = 0;
    if (!reader.u8(count)) return truncated(reader, "signature count");
    if (count > kMaxSignatures) {
        return fail(Errc::limit, "envelope claims " + std::to_string(count) + " signatures, more than " +
                                     std::to_string(kMaxSignatures));
    }
    envelope.signatures.resize(count);
    for (auto& entry : envelope.signatures) {
        if (!reader.take(entry.key_id.size(), raw)) return truncated(reader, "signature key id");
        std::copy(raw.begin(), raw.end(), entry.key_id.begin());
        if (!reader.take(entry.signature.size(), raw)) return truncated(reader, "signature");
        std::copy(raw.begin(), raw.end(), entry.signature.begin());
    }
    if (reader.left() != 0) {
        return fail(Errc::parse, std::to_string(reader.left()) + " trailing bytes after the envelope");
    }
    return envelope;
}

Result<Envelope> Envelope::decode(std::string_view bytes, std::size_t max_size) {
    return decode(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()),
                  max_size);
}

}  // namespace patchwave::crypto
