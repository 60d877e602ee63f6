// A thin RAII layer over the SQLite C API: open, prepared statements with
// typed binds and columns, and transactions that roll back unless committed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/error.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace patchwave::orchestrator {

class Statement;

/// One connection. WAL journal, synchronous=FULL, foreign keys on, a busy
/// timeout so a CLI command and the daemon can share the file.
class Database {
public:
    static Result<Database> open(const std::filesystem::path& path);
    Database(Database&& other) noexcept;
    Database& operator=(Database&& other) noexcept;
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;
    ~Database();

    /// Runs one or more statements without results.
    Status exec(std::string_view sql);
    Result<Statement> prepare(std::string_view sql);
    std::int64_t last_insert_rowid() const;
    /// Rows changed by the last statement.
    int changes() const;

private:
    explicit Database(sqlite3* handle) : handle_(handle) {}
    Error error(std::string_view what) const;
    friend class Statement;
    sqlite3* handle_ = nullptr;
};

/// A prepared statement. Binds are 1-based as in SQLite; columns 0-based.
class Statement {
public:
    Statement(Statement&& other) noexcept;
    Statement& operator=(Statement&& other) noexcept;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    ~Statement();

    Statement& bind(int index, std::int64_t value);
    Statement& bind(int index, std::string_view text);
    Statement& bind_blob(int index, std::span<const std::uint8_t> bytes);
    Statement& bind_blob(int index, std::string_view bytes);
    Statement& bind_null(int index);

    /// True when a row is ready, false when done.
    Result<bool> step();
    /// Steps to completion, for statements without rows.
    Status run();

    std::int64_t column_int(int index) const;
    std::string column_text(int index) const;
    std::string column_blob(int index) const;
    bool column_is_null(int index) const;

private:
    friend class Database;
    Statement(sqlite3* db, sqlite3_stmt* handle) : db_(db), handle_(handle) {}
    sqlite3* db_ = nullptr;
    sqlite3_stmt* handle_ = nullptr;
    // A bind error is remembered and reported by the next step().
    std::optional<Error> bind_error_;
};

/// BEGIN IMMEDIATE on construction (so writers queue rather than fail midway);
/// ROLLBACK on destruction unless commit() succeeded.
class Transaction {
public:
    static Result<Transaction> begin(Database& db);
    Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    Transaction& operator=(Transaction&&) = delete;
    ~Transaction();
    Status commit();

private:
    explicit Transaction(Database* db) : db_(db) {}
    Database* db_;
};

}  // namespace patchwave::orchestrator
