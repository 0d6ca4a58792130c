#pragma once
// Thin RAII layer over libpq: the one way LineStation talks to the fleet's PostgreSQL.
// Every call has its own deadline. A link can die half-open (a switch reboots, a NAT
// forgets the flow): the kernel then never tells us, so no call may wait on the socket
// longer than its deadline. Values are always sent as parameters, never spliced into SQL.

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace linestation::fleet {

// What went wrong: the server is away (no connection, a deadline passed, the link broke)
// or it answered with an error (sqlstate). The message never carries the URL's password.
class PgError : public std::runtime_error {
  public:
    PgError(const std::string& what, std::string sqlstate, bool link_lost)
        : std::runtime_error(what), sqlstate_(std::move(sqlstate)), link_lost_(link_lost) {}
    const std::string& sqlstate() const { return sqlstate_; }
    // True when the connection is unusable (retry on a new one, later).
    bool link_lost() const { return link_lost_; }

  private:
    std::string sqlstate_;
    bool link_lost_;
};

struct PgDeadlines {
    std::chrono::milliseconds connect{3000};
    std::chrono::milliseconds query{5000};  // also the server's statement_timeout
};

// "postgresql://user:secret@host/db" -> "postgresql://user:***@host/db" (for messages).
std::string redact_url(const std::string& url);

class PgResult {
  public:
    explicit PgResult(PGresult* r) : r_(r, &PQclear) {}
    int rows() const { return PQntuples(r_.get()); }
    bool is_null(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
    std::string text(int row, int col) const { return PQgetvalue(r_.get(), row, col); }
    std::int64_t int64(int row, int col) const;
    // Rows changed by an INSERT/UPDATE/DELETE.
    std::int64_t affected() const;

  private:
    std::unique_ptr<PGresult, decltype(&PQclear)> r_;
};

using PgParam = std::optional<std::string>;  // nullopt: SQL NULL

class PgConnection {
  public:
    // Connects within deadlines.connect or throws PgError (link_lost).
    PgConnection(const std::string& url, PgDeadlines deadlines = {},
                 const std::string& application_name = "linestation");
    PgConnection(const PgConnection&) = delete;
    PgConnection& operator=(const PgConnection&) = delete;
    PgConnection(PgConnection&&) noexcept = default;
    PgConnection& operator=(PgConnection&&) noexcept = default;

    // One statement with text parameters ($1, $2...), its result within deadlines.query.
    // A passed deadline closes the connection (its state is unknown) and throws.
    PgResult exec(const std::string& sql, const std::vector<PgParam>& params = {});
    // Statements without parameters, several separated by ';' (DDL, BEGIN, COMMIT).
    void exec_script(const std::string& sql);
    bool open() const { return conn_ != nullptr; }

  private:
    PGresult* wait_result(const std::string& what);
    [[noreturn]] void fail_link(const std::string& what);

    std::unique_ptr<PGconn, decltype(&PQfinish)> conn_{nullptr, &PQfinish};
    PgDeadlines deadlines_;
    std::string where_;  // the redacted URL, for messages
};

// A transaction: BEGIN on construction, ROLLBACK unless commit() was called (a lost
// link rolls it back on the server by itself).
class PgTransaction {
  public:
    explicit PgTransaction(PgConnection& c);
    ~PgTransaction();
    PgTransaction(const PgTransaction&) = delete;
    PgTransaction& operator=(const PgTransaction&) = delete;
    void commit();

  private:
    PgConnection& c_;
    bool done_ = false;
};

}  // namespace linestation::fleet
