#pragma once
// The JSON API under /api (and /metrics): sessions, roles, CSRF, audit, line operations
// through StationService, supervisor reports from the store.

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "station/auth/password.hpp"
#include "station/auth/session.hpp"
#include "station/clock/clock.hpp"
#include "station/qr/pairing_qr.hpp"
#include "station/reports/supervisor.hpp"
#include "station/service.hpp"
#include "station/store/read_pool.hpp"
#include "station/store/store.hpp"
#include "web/display_screens.hpp"
#include "web/live.hpp"
#include "web/sign_in.hpp"

namespace linestation::web {

struct ApiOptions {
    std::filesystem::path store_path;
    std::filesystem::path openapi_file;
    std::size_t max_body_bytes = 1 << 20;
    bool secure_cookies = false;
    reports::QuotaLimits quota;
    // Supervisor summaries older than this are recomputed in the background while the
    // previous answer is served.
    double summary_max_age_s = 5.0;
    int read_connections = 4;
    int login_max_failures = 5;
    int login_max_failures_per_address = 20;
    // One login tried from many addresses (a spread-out guess at one account).
    int login_max_failures_per_login = 20;
    std::size_t max_live_clients = 200;
    int password_iterations = auth::kDefaultPbkdf2Iterations;  // ServerOptions's
    double login_window_s = 300;
    // The station's recipes folder (admin recipe editing); empty: not offered.
    std::filesystem::path recipes_dir;
    // The live fixture file; empty: the virtual line.
    std::filesystem::path fixture_file;
    // How to make the first admin (see ServerOptions::first_admin_command).
    std::string first_admin_command;
};

// The store's part of /metrics (Prometheus text).
std::string store_metrics(store::Database& db, const std::string& day,
                          const reports::QuotaLimits& limits);

class Api {
  public:
    Api(StationService& station, const Clock& clock, ApiOptions options);
    ~Api();
    Api(const Api&) = delete;
    Api& operator=(const Api&) = delete;

    // Answers one request; every failure becomes a JSON error, never a stack trace.
    void handle(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response);
    LiveHub& live() { return live_; }

  private:
    struct Call;
    void route(Call& call);
    auth::Session require_session(Call& call);
    auth::Session require_role(Call& call, std::initializer_list<const char*> roles);
    void require_csrf(Call& call, const auth::Session& session);
    void audit(const std::string& actor, const std::string& action,
               const Poco::JSON::Object& detail);

    void login(Call& call);
    bool first_refusal_in_a_minute(const std::string& key);
    void logout(Call& call);
    void me(Call& call);
    void start_batch(Call& call);
    void qr_image(Call& call, bool png);
    void report(Call& call, const std::string& name);
    void unit_history(Call& call, const std::string& serial);
    // A verdict's camera evidence (GET /api/evidence/{unit_id}[/{moment}.png]): any
    // signed-in user, never a display token.
    void unit_evidence(Call& call);
    Poco::JSON::Array::Ptr evidence_array(store::Database& db, std::int64_t unit_id);
    void users(Call& call);
    void send_csv(Call& call, const reports::Table& table);
    void add_user(Call& call);
    void disable_user(Call& call, const std::string& login);
    void audit_log(Call& call);
    void cloud_accounts(Call& call);
    void add_cloud_account(Call& call);
    void admin_recipes(Call& call);
    void admin_recipe(Call& call, const std::string& id);
    void save_recipe(Call& call, const std::string& id);
    void admin_fixture(Call& call);
    void validate_fixture(Call& call);
    void live(Call& call);
    std::string metrics_text();
    std::string summary_json(const std::string& period);
    std::string compute_summary(const std::string& period);
    reports::Table table_named(store::Database& db, const std::string& name,
                               const reports::Period& period);
    void refresh_loop();
    std::string outbox_json();
    std::string left_bound_json();

    StationService& station_;
    const Clock& clock_;
    ApiOptions options_;
    store::Store store_;
    store::ReadPool reads_;
    SignIn sign_in_;           // users and sessions of store_: a restart logs no one out
    DisplayScreens displays_;  // the QR screens' tokens
    std::mutex throttle_audit_mutex_;
    std::map<std::string, double> throttle_audited_;  // login|address → last audited refusal
    LiveHub live_;
    std::string openapi_;
    std::mutex qr_mutex_;
    std::shared_ptr<const qr::VerifiedQr> qr_code_;  // the last code shown, read back
    std::mutex recipes_mutex_;  // one recipe save at a time (they share the temp file name)

    struct CachedSummary {
        std::string json;
        double computed_s = 0;
    };
    std::mutex summary_mutex_;
    std::condition_variable summary_wake_;
    std::map<std::string, CachedSummary> summaries_;
    std::vector<std::string> stale_;
    bool stopping_ = false;
    std::thread refresher_;
};

}  // namespace linestation::web
