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

// A crop of a unit's slot from the camera at a moment that decided its verdict.
struct EvidenceRecord {
    std::int64_t unit_id = 0;
    std::string moment;  // ready | green | final
    std::int64_t t_ms = 0;
    // The LED reading then ({"color","pattern","freq_hz","state"}); the final one also has
    // "timeline": every reading of the unit, in order.
    std::string led_json = "{}";
    std::string png;  // empty: none taken (no frame), dropped, or not asked for
    std::optional<std::int64_t> pruned_ms;  // when retention dropped the image
    std::int64_t png_bytes = 0;             // the image's size while it is kept
};

// How much evidence the store keeps: the oldest images go first past either bound.
struct EvidenceRetention {
    std::uint64_t max_bytes = 256ull << 20;
    std::int64_t max_age_ms = 90ll * 24 * 3600 * 1000;
};

struct QuotaUsage {
    int used = 0;
    int reserved = 0;
};

// One reservation of the daily unbind quota: it counts on the account's row (all its
// products) and on the product's row (all accounts) of quota_usage at once.
struct ReservationRequest {
    std::int64_t account_id = 0;  // cloud_accounts.id
    std::string product_id;
    std::string day;
    std::string slot;
    std::int64_t opened_ms = 0;
    int account_limit = 0;  // unbinds per day by this account, all products
    int product_limit = 0;  // unbinds per day of this product, all accounts
};

// A reservation a stop left open, with what the store knows of its unit.
struct OpenReservation {
    std::int64_t id = 0;
    std::int64_t account_id = 0;
    std::string product_id;
    std::string day;
    std::string slot;
    std::int64_t opened_ms = 0;
    std::optional<std::string> shared_reservation;
    // The device of the slot's unit that began last before the reservation (its label was
    // its device id, or the cloud's answer identified it).
    std::optional<std::string> device_id;
    bool removal_sent = false;  // a removal call went out: the cloud had confirmed it
    // Settled by a clean stop without the cloud's last word, and asked again: spent or given
    // back then (open when false).
    bool recheck = false;
    bool spent = false;
};

struct ShownToken {
    std::int64_t account_id = 0;
    std::string token;
    std::int64_t shown_ms = 0;
    std::int64_t expires_ms = 0;
};

// A device the cloud has bound to one of the station's accounts (it activated with one of
// the station's codes) and that the station has not removed yet.
struct LeftBoundRecord {
    std::int64_t id = 0;
    std::string device_id;
    std::int64_t account_id = 0;  // cloud_accounts.id of the account it is bound to
    // The 8-character token it activated with, when known (no secret without its 4-character
    // secret part).
    std::optional<std::string> token;
    // The unit it was (the last one the store has with that device id), filled in by the
    // store when not given; its label.
    std::optional<std::int64_t> unit_id;
    std::optional<std::int64_t> batch_id;
    std::optional<std::string> serial;
    std::int64_t first_seen_ms = 0;
    std::optional<std::int64_t> removed_ms;
};

// How one reservation is settled: spent (the cloud counted it, or may have) or given back.
struct Settlement {
    std::int64_t reservation_id = 0;
    bool spent = false;
    std::optional<std::string> device_id;  // the device whose unbind it paid for
    std::string why;
    // Settled without the cloud's last word (a clean stop's): the next start asks again.
    bool recheck = false;
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

    // Keeps one moment's evidence (a second one of the same moment replaces it), then drops
    // the images retention no longer allows (their rows stay, marked pruned). Committed
    // without waiting for the disk, like the timeline: a verdict never waits for an image.
    void add_evidence(const EvidenceRecord& evidence, const EvidenceRetention& retention,
                      std::int64_t now_ms);
    // A unit's evidence in moment order (ready, green, final), with or without the images.
    std::vector<EvidenceRecord> evidence(std::int64_t unit_id, bool with_png = false);
    // Bytes of the images kept, over every unit.
    std::uint64_t evidence_bytes();

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
    // Reserves one unbind on the account's and the product's rows and records it, in one
    // transaction; none when either row is at its limit.
    std::optional<std::int64_t> open_reservation(const ReservationRequest& request);
    void set_shared_reservation(std::int64_t reservation_id, const std::string& shared_id);
    // Settles open reservations, and settles anew those waiting for a recheck, each on both
    // rows, in one transaction (one already settled for good is left as it is). Returns how
    // many were settled.
    int settle_reservations(const std::vector<Settlement>& settlements, std::int64_t now_ms);
    std::vector<OpenReservation> open_reservations();
    // Those a clean stop settled without the cloud's last word, to be asked about again.
    std::vector<OpenReservation> reservations_to_recheck();
    // Device ids of the account's reservations settled spent for good: their unbinds are
    // paid for.
    std::vector<std::string> spent_devices(std::int64_t account_id);
    // The account's reservations settled spent for good with no device named (the cloud's
    // answer could not be told apart), opened since `since_ms`.
    int spent_unnamed(std::int64_t account_id, std::int64_t since_ms);
    // Counted reservations no quota_reservations row stands for (a store written before
    // the rows existed) are spent: nothing says what became of them. Returns how many.
    int spend_unrecorded_reservations();
    // Journals, each written before what it records goes out.
    void journal_shown_token(const ShownToken& token);
    // Tokens of the account shown before `before_ms` that had not expired at `since_ms`.
    std::vector<ShownToken> shown_tokens(std::int64_t account_id, std::int64_t since_ms,
                                         std::int64_t before_ms);
    void journal_removal(std::int64_t reservation_id, const std::string& device_id,
                         std::int64_t sent_ms);
    // Nothing left bound. Records a device found bound to the station's account, once: a
    // device already recorded and not removed since keeps its first record. True when it
    // was not recorded yet.
    bool record_left_bound(const LeftBoundRecord& record);
    // The device was removed (or found bound to the station's account no more): its record
    // is closed. True when it had one open.
    bool record_left_bound_removed(const std::string& device_id, std::int64_t removed_ms);
    // The devices recorded left bound and not removed since, the longest-bound first.
    std::vector<LeftBoundRecord> left_bound();
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
    std::vector<OpenReservation> reservations_where(const std::string& condition);

    std::mutex mutex_;
    Database db_;
    // The evidence images' bytes this store keeps, once summed (add_evidence).
    std::optional<std::int64_t> evidence_kept_bytes_;
};

}  // namespace linestation::store
