#include "orchestrator/sqlite.hpp"

#include <sqlite3.h>

namespace patchwave::orchestrator {
namespace {
// SQLite's own busy handler waits this long for another writer (the daemon).
constexpr int kBusyTimeoutMs = 10'000;
}  // namespace

Result<Database> Database::open(const std::filesystem::path& path) {
    sqlite3* handle = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &handle,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        std::string why = handle ? sqlite3_errmsg(handle) : sqlite3_errstr(rc);
        sqlite3_close(handle);
        return fail(Errc::io, "cannot open database " + path.string() + ": " + why);
    }
    Database db(handle);
    sqlite3_busy_timeout(handle, kBusyTimeoutMs);
    // WAL lets readers (status) run beside a writer; FULL syncs every commit,
    // so a command that printed success survives power loss.
    if (auto ok = db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"); !ok) {
        return std::unexpected(ok.error().with_context(path.string()));
    }
    return db;
}

Database::Database(Database&& other) noexcept : handle_(other.handle_) { other.handle_ = nullptr; }

Database& Database::operator=(Database&& other) noexcept {
    if (this != &other) {
        sqlite3_close(handle_);
        handle_ = other.handle_;
        other.handle_ = nullptr;
    }
    return *this;
}

Database::~Database() { sqlite3_close(handle_); }

Error Database::error(std::string_view what) const {
    return Error(Errc::io, std::string(what) + ": " + sqlite3_errmsg(handle_));
}

Status Database::exec(std::string_view sql) {
    char* message = nullptr;
    const std::string text(sql);
    if (sqlite3_exec(handle_, text.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
        std::string why = message ? message : sqlite3_errmsg(handle_);
        sqlite3_free(message);
        return fail(Errc::io, "database: " + why);
    }
    return {};
}

Result<Statement> Database::prepare(std::string_view sql) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(handle_, sql.data(), static_cast<int>(sql.size()), &statement, nullptr) != SQLITE_OK) {
        return fail(error("database: cannot prepare \"" + std::string(sql.substr(0, 60)) + "\""));
    }
    return Statement(handle_, statement);
}

std::int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(handle_); }
int Database::changes() const { return sqlite3_changes(handle_); }

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), handle_(other.handle_), bind_error_(std::move(other.bind_error_)) {
    other.handle_ = nullptr;
}

Statement& Statement::operator=(Statement&& other) noexcept {
    if (this != &other) {
        sqlite3_finalize(handle_);
        db_ = other.db_;
        handle_ = other.handle_;
        bind_error_ = std::move(other.bind_error_);
        other.handle_ = nullptr;
    }
    return *this;
}

Statement::~Statement() { sqlite3_finalize(handle_); }

Statement& Statement::bind(int index, std::int64_t value) {
    if (sqlite3_bind_int64(handle_, index, value) != SQLITE_OK && !bind_error_) {
        bind_error_ = Error(Errc::internal, std::string("database bind: ") + sqlite3_errmsg(db_));
    }
    return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
    if (sqlite3_bind_text64(handle_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8) != SQLITE_OK &&
        !bind_error_) {
        bind_error_ = Error(Errc::internal, std::string("database bind: ") + sqlite3_errmsg(db_));
    }
    return *this;
}

Statement& Statement::bind_blob(int index, std::span<const std::uint8_t> bytes) {
    // A zero-length blob must still be a blob, not NULL: give SQLite a valid pointer.
    static const std::uint8_t kEmpty = 0;
    const void* data = bytes.empty() ? &kEmpty : bytes.data();
    if (sqlite3_bind_blob64(handle_, index, data, bytes.size(), SQLITE_TRANSIENT) != SQLITE_OK && !bind_error_) {
        bind_error_ = Error(Errc::internal, std::string("database bind: ") + sqlite3_errmsg(db_));
    }
    return *this;
}

Statement& Statement::bind_blob(int index, std::string_view bytes) {
    return bind_blob(index, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                                          bytes.size()));
}

Statement& Statement::bind_null(int index) {
    sqlite3_bind_null(handle_, index);
    return *this;
}

Result<bool> Statement::step() {
    if (bind_error_) return fail(*bind_error_);
    const int rc = sqlite3_step(handle_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    const Errc errc = (rc == SQLITE_CONSTRAINT) ? Errc::already_exists : Errc::io;
    return fail(errc, std::string("database: ") + sqlite3_errmsg(db_));
}

Status Statement::run() {
    for (;;) {
        auto row = step();
        if (!row) return std::unexpected(row.error());
        if (!*row) return {};
    }
}

std::int64_t Statement::column_int(int index) const { return sqlite3_column_int64(handle_, index); }

std::string Statement::column_text(int index) const {
    const auto* text = sqlite3_column_text(handle_, index);
    return text ? std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(sqlite3_column_bytes(handle_, index)))
                : std::string();
}

std::string Statement::column_blob(int index) const {
    const void* data = sqlite3_column_blob(handle_, index);
    const int size = sqlite3_column_bytes(handle_, index);
    return data ? std::string(static_cast<const char*>(data), static_cast<std::size_t>(size)) : std::string();
}

bool Statement::column_is_null(int index) const { return sqlite3_column_type(handle_, index) == SQLITE_NULL; }

Result<Transaction> Transaction::begin(Database& db) {
    if (auto ok = db.exec("BEGIN IMMEDIATE"); !ok) return std::unexpected(ok.error());
    return Transaction(&db);
}

Transaction::~Transaction() {
    if (db_ != nullptr) (void)db_->exec("ROLLBACK");
}

Status Transaction::commit() {
    if (db_ == nullptr) return fail(Errc::internal, "transaction already finished");
    auto ok = db_->exec("COMMIT");
    if (ok) db_ = nullptr;
    return ok;
}

}  // namespace patchwave::orchestrator
