#include "station/fleet/pg.hpp"

#include <poll.h>

#include <cerrno>

namespace linestation::fleet {

namespace {

using Clock = std::chrono::steady_clock;

// Waits until the socket is readable (or writable) or the deadline passes.
bool wait_socket(int fd, bool for_write, Clock::time_point deadline) {
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) return false;
        pollfd p{fd, static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
        const int n = ::poll(&p, 1, static_cast<int>(left));
        if (n > 0) return true;
        if (n < 0 && errno != EINTR) return false;
    }
}

std::string first_line(const char* message) {
    std::string s = message ? message : "";
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

}  // namespace

std::string redact_url(const std::string& url) {
    // scheme://user:password@host...: everything between the first ':' after the scheme's
    // "//" and the '@' is the password.
    const auto scheme = url.find("://");
    if (scheme == std::string::npos) return url;
    const auto at = url.find('@', scheme + 3);
    if (at == std::string::npos) return url;
    const auto colon = url.find(':', scheme + 3);
    if (colon == std::string::npos || colon > at) return url;
    return url.substr(0, colon + 1) + "***" + url.substr(at);
}

std::int64_t PgResult::int64(int row, int col) const {
    const char* v = PQgetvalue(r_.get(), row, col);
    return std::stoll(v && *v ? v : "0");
}

std::int64_t PgResult::affected() const {
    const char* v = PQcmdTuples(r_.get());
    return v && *v ? std::stoll(v) : 0;
}

PgConnection::PgConnection(const std::string& url, PgDeadlines deadlines,
                           const std::string& application_name)
    : deadlines_(deadlines), where_(redact_url(url)) {
    const auto deadline = Clock::now() + deadlines.connect;
    // The server ends a statement we gave up on by itself; TCP keepalives and
    // tcp_user_timeout let the kernel see a half-open link while the connection idles.
    const auto statement_ms = std::to_string(deadlines.query.count());
    const auto connect_s = std::to_string(std::max<long long>(
        2, std::chrono::duration_cast<std::chrono::seconds>(deadlines.connect).count()));
    // Notices (CREATE ... IF NOT EXISTS "skipping") are not worth a line on stderr.
    const std::string options =
        "-c statement_timeout=" + statement_ms + " -c client_min_messages=warning";
    const char* keys[] = {"dbname",
                          "connect_timeout",
                          "options",
                          "application_name",
                          "keepalives",
                          "keepalives_idle",
                          "keepalives_interval",
                          "keepalives_count",
                          "tcp_user_timeout",
                          nullptr};
    const char* values[] = {
        url.c_str(), connect_s.c_str(),    options.c_str(), application_name.c_str(), "1", "5", "2",
        "2",         statement_ms.c_str(), nullptr};
    conn_.reset(PQconnectStartParams(keys, values, 1));
    if (!conn_) throw PgError("fleet database " + where_ + ": out of memory", "", true);
    if (PQstatus(conn_.get()) == CONNECTION_BAD) {
        fail_link("cannot connect: " + first_line(PQerrorMessage(conn_.get())));
    }
    auto state = PGRES_POLLING_WRITING;
    for (;;) {
        if (state == PGRES_POLLING_OK) break;
        if (state == PGRES_POLLING_FAILED) {
            fail_link("cannot connect: " + first_line(PQerrorMessage(conn_.get())));
        }
        if (!wait_socket(PQsocket(conn_.get()), state == PGRES_POLLING_WRITING, deadline)) {
            fail_link("cannot connect within " + std::to_string(deadlines.connect.count()) + " ms");
        }
        state = PQconnectPoll(conn_.get());
    }
    if (PQsetnonblocking(conn_.get(), 1) != 0) fail_link("cannot switch to non-blocking mode");
    // Warnings the server still sends go nowhere rather than to our stderr unasked.
    PQsetNoticeProcessor(
        conn_.get(), [](void*, const char*) {}, nullptr);
}

void PgConnection::fail_link(const std::string& what) {
    conn_.reset();
    throw PgError("fleet database " + where_ + ": " + what, "", true);
}

PGresult* PgConnection::wait_result(const std::string& what) {
    const auto deadline = Clock::now() + deadlines_.query;
    auto* c = conn_.get();
    for (;;) {
        const int flushed = PQflush(c);
        if (flushed < 0) fail_link(what + ": " + first_line(PQerrorMessage(c)));
        if (flushed == 0) break;
        if (!wait_socket(PQsocket(c), true, deadline)) {
            fail_link(what + ": no answer within " + std::to_string(deadlines_.query.count()) +
                      " ms");
        }
    }
    PGresult* last = nullptr;
    for (;;) {
        while (PQisBusy(c)) {
            if (!wait_socket(PQsocket(c), false, deadline)) {
                if (last) PQclear(last);
                fail_link(what + ": no answer within " + std::to_string(deadlines_.query.count()) +
                          " ms");
            }
            if (!PQconsumeInput(c)) {
                if (last) PQclear(last);
                fail_link(what + ": " + first_line(PQerrorMessage(c)));
            }
        }
        PGresult* r = PQgetResult(c);
        if (!r) break;
        // The first error wins: later results of a script after an error say nothing new.
        const auto status = PQresultStatus(r);
        const bool error = status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE;
        const bool last_is_error = last && PQresultStatus(last) == PGRES_FATAL_ERROR;
        if (last_is_error && !error) {
            PQclear(r);
            continue;
        }
        if (last) PQclear(last);
        last = r;
    }
    if (PQstatus(c) == CONNECTION_BAD) {
        if (last) PQclear(last);
        fail_link(what + ": connection lost");
    }
    if (!last) fail_link(what + ": no result");
    const auto status = PQresultStatus(last);
    if (status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE ||
        status == PGRES_NONFATAL_ERROR) {
        const char* state = PQresultErrorField(last, PG_DIAG_SQLSTATE);
        std::string sqlstate = state ? state : "";
        std::string message = first_line(PQresultErrorMessage(last));
        PQclear(last);
        const bool lost = PQstatus(c) == CONNECTION_BAD;
        if (lost) conn_.reset();
        throw PgError("fleet database " + where_ + ": " + what + ": " + message, sqlstate, lost);
    }
    return last;
}

PgResult PgConnection::exec(const std::string& sql, const std::vector<PgParam>& params) {
    if (!conn_) throw PgError("fleet database " + where_ + ": not connected", "", true);
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    if (!PQsendQueryParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                           values.data(), nullptr, nullptr, 0)) {
        fail_link("cannot send a query: " + first_line(PQerrorMessage(conn_.get())));
    }
    return PgResult(wait_result("query"));
}

void PgConnection::exec_script(const std::string& sql) {
    if (!conn_) throw PgError("fleet database " + where_ + ": not connected", "", true);
    if (!PQsendQuery(conn_.get(), sql.c_str())) {
        fail_link("cannot send a query: " + first_line(PQerrorMessage(conn_.get())));
    }
    PQclear(wait_result("script"));
}

PgTransaction::PgTransaction(PgConnection& c) : c_(c) {
    c_.exec_script("BEGIN");
}

PgTransaction::~PgTransaction() {
    if (done_ || !c_.open()) return;
    try {
        c_.exec_script("ROLLBACK");
    } catch (const PgError&) {
        // The link is gone: the server rolls the transaction back when it notices.
    }
}

void PgTransaction::commit() {
    c_.exec_script("COMMIT");
    done_ = true;
}

}  // namespace linestation::fleet
