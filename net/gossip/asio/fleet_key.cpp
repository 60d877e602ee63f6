#include "net/gossip/asio/fleet_key.hpp"

#include <charconv>

#include <sodium.h>

#include "common/file_io.hpp"
#include "common/hex.hpp"
#include "crypto/sodium_init.hpp"

namespace patchwave::net::gossip::asio_impl {

namespace {

static_assert(FleetKey::kSize == crypto_secretbox_KEYBYTES);
static_assert(FleetKey::kSize == crypto_kdf_KEYBYTES);
static_assert(FleetKeyring::kOverhead == 1 + crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES);

// crypto_kdf contexts are exactly 8 characters; this one names the use.
constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "pwgossip";
constexpr std::size_t kNonceOffset = 1;
constexpr std::size_t kBoxOffset = 1 + crypto_secretbox_NONCEBYTES;

// Whitespace a key file may carry around its one line.
std::string_view trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return {};
    const auto last = text.find_last_not_of(" \t\r\n");
    return text.substr(first, last - first + 1);
}

}  // namespace

FleetKey::~FleetKey() {
    sodium_memzero(secret.data(), secret.size());
}

FleetKey generate_fleet_key(std::uint8_t id) {
    crypto::ensure_sodium();
    FleetKey key;
    key.id = id;
    crypto_secretbox_keygen(key.secret.data());
    return key;
}

std::string to_text(const FleetKey& key) {
    return std::to_string(key.id) + ":" + to_hex(key.secret);
}

Result<FleetKey> parse_fleet_key(std::string_view text) {
    text = trim(text);
    const auto colon = text.find(':');
    // The message never echoes the text: it holds the secret.
    if (colon == std::string_view::npos)
        return fail(Errc::invalid_argument, "fleet key: expected <id>:<64 hex digits>");
    unsigned id = 0;
    auto [end, errc] = std::from_chars(text.data(), text.data() + colon, id);
    if (errc != std::errc{} || end != text.data() + colon || id > 255) {
        return fail(Errc::invalid_argument, "fleet key: the id must be 0-255");
    }
    auto secret = from_hex_fixed<FleetKey::kSize>(text.substr(colon + 1));
    if (!secret) return fail(Errc::invalid_argument, "fleet key: the secret must be 64 hex digits");
    FleetKey key(static_cast<std::uint8_t>(id), *secret);
    sodium_memzero(secret->data(), secret->size());
    return key;
}

Result<FleetKey> load_fleet_key(const std::filesystem::path& path) {
    auto text = read_file(path, 4096);
    if (!text) return std::unexpected(std::move(text.error()).with_context("fleet key " + path.string()));
    auto key = parse_fleet_key(*text);
    sodium_memzero(text->data(), text->size());
    if (!key) return std::unexpected(std::move(key.error()).with_context(path.string()));
    return key;
}

// ---- FleetKeyring ----------------------------------------------------------

FleetKeyring::Slot FleetKeyring::Slot::derive(const FleetKey& key) {
    Slot slot;
    slot.id = key.id;
    for (std::size_t i = 0; i < slot.subkeys.size(); ++i) {
        // Subkey i + 1 is the one for Channel(i + 1).
        crypto_kdf_derive_from_key(slot.subkeys[i].data(), slot.subkeys[i].size(), i + 1, kKdfContext,
                                   key.secret.data());
    }
    return slot;
}

const std::array<std::uint8_t, FleetKey::kSize>& FleetKeyring::Slot::subkey(Channel channel) const {
    return subkeys[static_cast<std::size_t>(channel) - 1];
}

void FleetKeyring::Slot::wipe() {
    for (auto& subkey : subkeys)
        sodium_memzero(subkey.data(), subkey.size());
}

Result<std::shared_ptr<FleetKeyring>> FleetKeyring::create(const FleetKey& current,
                                                           const std::optional<FleetKey>& previous) {
    std::shared_ptr<FleetKeyring> ring(new FleetKeyring());
    if (auto status = ring->set_keys(current, previous); !status) return std::unexpected(status.error());
    return ring;
}

FleetKeyring::~FleetKeyring() {
    current_.wipe();
    if (previous_) previous_->wipe();
}

Status FleetKeyring::set_keys(const FleetKey& current, const std::optional<FleetKey>& previous) {
    if (previous && previous->id == current.id) {
        return fail(Errc::invalid_argument, "fleet keys: the current and previous key need different ids");
    }
    crypto::ensure_sodium();
    Slot next_current = Slot::derive(current);
    std::optional<Slot> next_previous;
    if (previous) next_previous = Slot::derive(*previous);
    std::lock_guard lock(mutex_);
    current_.wipe();
    if (previous_) previous_->wipe();
    current_ = next_current;
    previous_ = next_previous;
    next_current.wipe();
    if (next_previous) next_previous->wipe();
    return {};
}

Bytes FleetKeyring::seal(Channel channel, ByteView plaintext) const {
    Bytes sealed(kOverhead + plaintext.size());
    randombytes_buf(sealed.data() + kNonceOffset, crypto_secretbox_NONCEBYTES);
    std::lock_guard lock(mutex_);
    sealed[0] = current_.id;
    crypto_secretbox_easy(sealed.data() + kBoxOffset, plaintext.data(), plaintext.size(), sealed.data() + kNonceOffset,
                          current_.subkey(channel).data());
    return sealed;
}

Result<Bytes> FleetKeyring::open(Channel channel, ByteView sealed) const {
    if (sealed.size() < kOverhead) return fail(Errc::untrusted, "sealed message too short");
    std::lock_guard lock(mutex_);
    const Slot* slot = nullptr;
    if (sealed[0] == current_.id) {
        slot = &current_;
    } else if (previous_ && sealed[0] == previous_->id) {
        slot = &*previous_;
    }
    if (slot == nullptr) return fail(Errc::untrusted, "unknown fleet key id " + std::to_string(sealed[0]));
    Bytes plaintext(sealed.size() - kOverhead);
    if (crypto_secretbox_open_easy(plaintext.data(), sealed.data() + kBoxOffset, sealed.size() - kBoxOffset,
                                   sealed.data() + kNonceOffset, slot->subkey(channel).data())
        != 0) {
        return fail(Errc::untrusted, "sealed message failed authentication");
    }
    return plaintext;
}

std::uint8_t FleetKeyring::current_id() const {
    std::lock_guard lock(mutex_);
    return current_.id;
}

std::optional<std::uint8_t> FleetKeyring::previous_id() const {
    std::lock_guard lock(mutex_);
    if (!previous_) return std::nullopt;
    return previous_->id;
}

}  // namespace patchwave::net::gossip::asio_impl
