// What gossip carries besides membership: signed records (manifest, control,
// root, certificate, status), keyed by (type, origin, id) and versioned by their signed sequence.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "crypto/keys.hpp"
#include "net/gossip/transport.hpp"

namespace patchwave::net::gossip {

/// A member is named by its agent id: the key id of the agent key its
/// enrollment certificate binds.
using MemberId = crypto::KeyId;

/// The kinds of record gossip carries. The numbers are wire values.
enum class RecordType : std::uint8_t {
    root = 1,         ///< a trust-root rotation (patchwave.root)
    manifest = 2,     ///< a rollout manifest (patchwave.manifest)
    control = 3,      ///< pause / resume / advance / abort (patchwave.control)
    certificate = 4,  ///< an agent certificate (patchwave.certificate)
    status = 5,       ///< an agent's status (patchwave.status)
};
inline constexpr std::uint8_t kMaxRecordType = 5;

/// "root", "manifest", "control", "certificate", "status".
std::string_view to_string(RecordType type);
bool is_valid_record_type(std::uint8_t value);

/// Who holds a record type. Fleet records (what flows out) are stored and
/// forwarded by every member. Upstream records (status) are held by their
/// origin and delivered to the collectors (the orchestrator), which is what
/// keeps a member's state and traffic independent of the fleet size.
enum class RecordScope : std::uint8_t { fleet, upstream };

/// Identifies what a record is about; two records with the same key are
/// versions of one thing and only the higher version is kept.
struct RecordKey {
    static constexpr std::size_t kMaxIdLength = 64;

    RecordType type = RecordType::status;
    /// The member that signed it (status, certificate), or all zero for
    /// records signed by a role (root, manifest, control).
    MemberId origin{};
    /// The rollout id for manifest and control records; empty otherwise.
    std::string id;

    friend auto operator<=>(const RecordKey&, const RecordKey&) = default;
    friend bool operator==(const RecordKey&, const RecordKey&) = default;
};

struct RecordKeyHash {
    std::size_t operator()(const RecordKey& key) const noexcept;
};

/// A key and the version its signed body carries (manifest version, control
/// or status sequence, root version, certificate issue time). Gossiped alone
/// as a digest; the verifier checks it against the signed bytes.
struct RecordHeader {
    RecordKey key;
    std::uint64_t version = 0;
    friend bool operator==(const RecordHeader&, const RecordHeader&) = default;
};

/// "status/3f2a9c01b2e4/v12" style text, for logs and errors.
std::string to_string(const RecordHeader& header);

/// A record as stored and forwarded: its header and the exact bytes of its
/// signed envelope. Immutable once built, so stores and queues share it.
struct Record {
    /// Cap on one encoded envelope: a manifest (256 KiB body) with its
    /// signatures fits; anything bigger is refused before it is verified.
    static constexpr std::size_t kMaxEnvelopeSize = 320 * 1024;

    RecordHeader header;
    Bytes envelope;
};
using RecordPtr = std::shared_ptr<const Record>;

/// Key id and version checks shared by every decoder: Errc::limit or
/// Errc::parse naming the field.
Status validate(const RecordHeader& header);

}  // namespace patchwave::net::gossip
