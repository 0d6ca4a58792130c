#pragma once
// The station's store: one SQLite file, WAL mode, schema migrated on open.
// A finished unit's result is durable when finish_unit() returns (synchronous=FULL).
// One Store object may be used from several threads; calls are serialised inside.
// Readers in other processes or threads open their own Store (or Database) on the file.

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "station/store/sqlite.hpp"

namespace linestation::store {

class SchemaTooNew : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct StationRecord {
    std::string id;
    std::string name;
};

struct OperatorRecord {
    std::int64_t id = 0;
    std::string login;
    std::string role;  // operator | supervisor | admin
    std::vector<std::string> products;
    std::string password_hash;
    bool disabled = false;
};

struct CloudAccountRecord {
    std::int64_t id = 0;
    std::string name;
    std::string endpoint;
    std::string client_id;
    std::string uid;
    std::string relation = "owner";  // owner | partner | org
    std::string secret_ref;          // where the secret lives (env var, file), never the secret
};

struct ProductRecord {
    std::string id;
    std::string name;
    std::string category;
    std::string binding_mode;  // weak | medium | strong
    std::string recipe;
};

struct BatchRecord {
    std::int64_t id = 0;
    std::string kind;  // unbind | pre_activation | wired
    std::string recipe;
    std::optional<std::string> product_id;
    std::string station_id;
    std::optional<std::string> operator_login;
    std::optional<std::int64_t> cloud_account_id;
    std::optional<std::string> token;
    std::int64_t started_ms = 0;
    std::optional<std::int64_t> ended_ms;
    std::string state = "running";
    // What ran it: the station's version, and the SHA-256 (hex) of the recipe file's bytes.
    std::optional<std::string> software_version;
    std::optional<std::string> recipe_sha256;
};

struct UnitRecord {
    std::int64_t id = 0;
    std::optional<std::int64_t> batch_id;
    std::optional<std::string> device_id;
    std::optional<std::string> serial;
    std::optional<std::string> product_id;
    std::string station_id;
    std::string slot;
    int attempt = 1;
    std::int64_t started_ms = 0;
    std::optional<std::int64_t> ended_ms;
    std::optional<std::string> verdict;  // PASS | FAIL | INCONCLUSIVE | INTERRUPTED
    std::optional<std::string> reason;
    std::string measurements_json = "{}";
};

struct UnitEventRecord {
    std::int64_t id = 0;
    std::int64_t unit_id = 0;
    std::int64_t t_ms = 0;
    std::string kind;  // led | actuator | cloud | operator | flow | camera
    std::string detail_json = "{}";
};

// One measurement of an attempt with its limit and its own outcome (OpenHTF's record).
struct MeasurementRecord {
    std::string name;
    std::optional<double> value;  // none: never measured
    std::string unit;
    std::optional<double> min;
    std::optional<double> max;
    std::string outcome;  // PASS | FAIL | UNSET
};

struct QuotaUsage {
    int used = 0;
    int reserved = 0;
};

// One finished attempt waiting in the outbox for the sinks that take results away.
struct OutboxEntry {
    std::int64_t id = 0;    // order of the outbox; a sink acknowledges up to an id
    std::string result_id;  // the station's own id of the result, unique in the fleet
    std::int64_t unit_id = 0;
    std::int64_t created_ms = 0;  // when the verdict was committed (station time)
    std::string payload;          // JSON: the unit, its measurement records and timeline
};

struct OutboxBacklog {
    std::int64_t count = 0;
    std::optional<std::int64_t> oldest_ms;  // created_ms of the oldest one not taken
    // Filled by outbox_backlogs(): the sink's last error (empty after a good delivery) and
    // how many results its far side refused for good (parked).
    std::string last_error;
    std::int64_t parked = 0;
};

// A result a sink's far side refused for good, kept with the reason.
struct ParkedOutboxEntry {
    std::string sink;
    std::string result_id;
    std::int64_t unit_id = 0;
    std::int64_t parked_ms = 0;
    std::string reason;
};

struct AuditRecord {
    std::int64_t id = 0;
    std::int64_t at_ms = 0;
    std::string actor;
    std::string action;
    std::string detail_json;
};

// Every sink's backlog (the sinks are the outbox's cursors), on any connection to the file.
std::map<std::string, OutboxBacklog> outbox_backlogs(Database& db);

// "a,b,c" -> {a, b, c}: how operators' product permissions are written, in the store
// and on the command line. Empty items are dropped.
std::vector<std::string> split_product_list(const std::string& text);

class Store {
  public:
    // Opens (creating if needed) and migrates to `target_version` (default: latest).
    explicit Store(const std::filesystem::path& file, std::optional<int> target_version = {});

    int schema_version();
    // "ok" when PRAGMA integrity_check finds nothing wrong, else its first complaint.
    std::string integrity_check();
    bool healthy();
    // Caps the file at about `bytes` (SQLite's max_page_count, never below what it holds):
    // past it every write fails with SQLITE_FULL as on a full disk, so the store cannot fill
    // the disk the station's log and system share.
    void limit_size(std::uint64_t bytes);

    void upsert_station(const StationRecord& station);
    std::optional<StationRecord> station(const std::string& id);

    std::int64_t add_operator(const OperatorRecord& op);
    std::optional<OperatorRecord> find_operator(const std::string& login);
    std::vector<OperatorRecord> operators();
    // Marks the login disabled (it can no longer sign in); false when there is no such login.
    bool disable_operator(const std::string& login);

    std::int64_t add_cloud_account(const CloudAccountRecord& account);
    std::optional<CloudAccountRecord> cloud_account(std::int64_t id);
    std::vector<CloudAccountRecord> cloud_accounts();

    void upsert_product(const ProductRecord& product);
    std::optional<ProductRecord> product(const std::string& id);

    std::int64_t start_batch(const BatchRecord& batch);
    void end_batch(std::int64_t id, std::int64_t ended_ms, const std::string& state);
    std::optional<BatchRecord> batch(std::int64_t id);

    // The unit and the first events of its timeline, in one transaction: a crash leaves
    // either both or neither (an in-flight unit always shows how it began). The events'
    // unit_id is filled in.
    std::int64_t begin_unit(const UnitRecord& unit, std::vector<UnitEventRecord> first_events = {});
    // Commits the verdict with its measurement records, in one transaction; durable when
    // this returns.
    void finish_unit(std::int64_t id, const std::string& verdict, const std::string& reason,
                     const std::string& measurements_json, std::int64_t ended_ms,
                     const std::vector<MeasurementRecord>& measurements = {});
    std::vector<MeasurementRecord> measurements(std::int64_t unit_id);

    // The outbox: every verdict (finish_unit, mark_interrupted) puts its result there in
    // its own transaction. A sink reads what it has not acknowledged, in order, and
    // acknowledges once the result is safe on its side.
    std::vector<OutboxEntry> outbox_pending(const std::string& sink, int limit);
    void acknowledge_outbox(const std::string& sink, std::int64_t up_to_id);
    // A sink's last error; empty: its last delivery went through.
    void record_sink_error(const std::string& sink, const std::string& error, std::int64_t at_ms);
    // Keeps a result its sink's far side refused for good (once per sink and result).
    void park_outbox(const std::string& sink, const OutboxEntry& entry, const std::string& reason,
                     std::int64_t at_ms);
    std::vector<ParkedOutboxEntry> outbox_parked(const std::string& sink);
    OutboxBacklog outbox_backlog(const std::string& sink);
    std::map<std::string, OutboxBacklog> outbox_backlogs();
    // Deletes what every sink has taken (the results stay in units and their timelines);
    // returns how many. A sink added later starts from what is left.
    int prune_outbox();
    std::optional<UnitRecord> unit(std::int64_t id);
    std::vector<UnitRecord> units_by_serial(const std::string& serial);
    std::int64_t count_units();
    // Units with no verdict (a crash left them in flight) become INTERRUPTED.
    // Returns their ids.
    std::vector<std::int64_t> mark_interrupted(std::int64_t now_ms, const std::string& reason);

    std::int64_t add_event(const UnitEventRecord& event);
    // Many timeline events in one transaction, committed without waiting for the disk:
    // WAL keeps them through a process crash, and the next durable commit (finish_unit)
    // makes them durable with it. A unit's timeline is hundreds of events; one fsync
    // each would cost more than the device's own cycle.
    void add_events(const std::vector<UnitEventRecord>& events);
    std::vector<UnitEventRecord> events(std::int64_t unit_id);

    QuotaUsage quota(std::int64_t account_id, const std::string& product_id,
                     const std::string& day);
    // Reserves one use if used + reserved < limit; false when the quota is exhausted.
    bool reserve_quota(std::int64_t account_id, const std::string& product_id,
                       const std::string& day, int limit);
    // The reservation was spent (the cloud saw the attempt) or given back (it never did).
    void settle_quota(std::int64_t account_id, const std::string& product_id,
                      const std::string& day, bool spent);
    // Start-up: every reservation left by a run that stopped mid-attempt is spent, since
    // the cloud may have counted it. Returns how many were settled.
    int spend_open_reservations();
    // The cloud's device id of a unit that was loaded by its label (uuid, sn, MAC).
    void set_unit_device(std::int64_t unit_id, const std::string& device_id);

    std::int64_t audit(std::int64_t at_ms, const std::string& actor, const std::string& action,
                       const std::string& detail_json = "{}");
    std::vector<AuditRecord> audit_log(std::int64_t since_ms, int limit = 1000);

    Database& database() { return db_; }
    std::mutex& mutex() { return mutex_; }

  private:
    void migrate(std::optional<int> target_version);
    UnitRecord read_unit(const Statement& s) const;
    void insert_event_locked(const UnitEventRecord& e);
    void insert_outbox_locked(std::int64_t unit_id, std::int64_t created_ms);

    std::mutex mutex_;
    Database db_;
};

}  // namespace linestation::store
