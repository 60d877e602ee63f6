// Optional channel encryption for gossip: a fleet-wide libsodium secretbox key
// (XSalsa20-Poly1305) with a key id, rotated at runtime by accepting two keys.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "net/gossip/transport.hpp"

namespace patchwave::net::gossip::asio_impl {

/// One fleet key: 32 secret bytes and the one-byte id every sealed message
/// starts with, so a receiver knows which key to try. Wiped when destroyed.
struct FleetKey {
    static constexpr std::size_t kSize = 32;

    std::uint8_t id = 0;
    std::array<std::uint8_t, kSize> secret{};

    FleetKey() = default;
    FleetKey(std::uint8_t key_id, const std::array<std::uint8_t, kSize>& bytes) : id(key_id), secret(bytes) {}
    FleetKey(const FleetKey&) = default;
    FleetKey& operator=(const FleetKey&) = default;
    ~FleetKey();
};

/// A new random key with the given id.
FleetKey generate_fleet_key(std::uint8_t id);
/// "<id>:<64 hex digits>", e.g. "1:9f0c...". The text form in key files.
std::string to_text(const FleetKey& key);
/// Parses to_text()'s form (surrounding whitespace ignored); Errc::invalid_argument otherwise.
Result<FleetKey> parse_fleet_key(std::string_view text);
/// Reads a key file holding to_text()'s form.
Result<FleetKey> load_fleet_key(const std::filesystem::path& path);

/// What a sealed message is: each direction has its own subkey, so a
/// captured datagram cannot be replayed as a stream request or a reply as a request.
enum class Channel : std::uint8_t { datagram = 1, request = 2, reply = 3 };

/// The keys one member holds: it seals with the current key and opens what
/// was sealed with the current or the previous one. Rotation without a
/// restart is two set_keys() calls on every member (see docs):
///   1. set_keys(old, new)  -- everyone accepts the new key, still sends the old;
///   2. set_keys(new, old)  -- everyone sends the new key, still accepts the old;
///   3. set_keys(new)       -- the old key is dropped.
/// Thread-safe: a rotation may come from any thread.
///
/// Wire form of a sealed message: key id (1) | nonce (24) | MAC (16) | ciphertext.
/// The nonce is random per message (192 bits: no counter to keep across restarts).
class FleetKeyring {
public:
    static constexpr std::size_t kOverhead = 1 + 24 + 16;

    /// Errc::invalid_argument when both keys have the same id.
    static Result<std::shared_ptr<FleetKeyring>> create(const FleetKey& current,
                                                        const std::optional<FleetKey>& previous = std::nullopt);
    FleetKeyring(const FleetKeyring&) = delete;
    FleetKeyring& operator=(const FleetKeyring&) = delete;
    ~FleetKeyring();

    /// Replaces both keys at once. Errc::invalid_argument when their ids are equal.
    Status set_keys(const FleetKey& current, const std::optional<FleetKey>& previous = std::nullopt);

    /// `plaintext` sealed with the current key for `channel`.
    Bytes seal(Channel channel, ByteView plaintext) const;
    /// The plaintext, or Errc::untrusted (too short, unknown key id, or not
    /// authentic: wrong key, wrong channel, altered bytes).
    Result<Bytes> open(Channel channel, ByteView sealed) const;

    std::uint8_t current_id() const;
    std::optional<std::uint8_t> previous_id() const;

private:
    // Per-channel subkeys derived from one fleet key (crypto_kdf).
    struct Slot {
        std::uint8_t id = 0;
        std::array<std::array<std::uint8_t, FleetKey::kSize>, 3> subkeys{};
        static Slot derive(const FleetKey& key);
        const std::array<std::uint8_t, FleetKey::kSize>& subkey(Channel channel) const;
        void wipe();
    };

    FleetKeyring() = default;

    mutable std::mutex mutex_;
    Slot current_;
    std::optional<Slot> previous_;
};

}  // namespace patchwave::net::gossip::asio_impl
