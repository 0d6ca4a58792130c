#pragma once
// What the web part may ask of the station. web/ depends on station/ through this
// interface only, so the server can be tested against any implementation.
// The controller (station/flow) implements the line operations; users, audit and cloud
// accounts are store::Store's functions, and supervisor reports are station/reports' queries
// on a store::ReadPool. web/ writes no SQL of its own (ctest Layers.WebSpeaksNoSql).

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace linestation {

// A refusal the screens show in the operator's language: `code` is stable (the screens'
// catalogue has `error.<code>`), what() the English text any other client reads, `params`
// the values that text names (slot, serial). The API answers it 409 with all three.
class Refusal : public std::invalid_argument {
  public:
    Refusal(std::string code, const std::string& message,
            std::map<std::string, std::string> params = {})
        : std::invalid_argument(message), code_(std::move(code)), params_(std::move(params)) {}
    const std::string& code() const { return code_; }
    const std::map<std::string, std::string>& params() const { return params_; }

  private:
    std::string code_;
    std::map<std::string, std::string> params_;
};

struct HealthReport {
    std::string version;
    std::string station_id;
    std::string station_name;
    double uptime_s = 0;
    bool store_ok = false;
    // Why the store cannot be written (disk full, read-only, I/O error); while it is set the
    // station admits no units. Empty when writes work.
    std::string store_problem;
    int schema_version = 0;
    bool virtual_line = true;
    // From the camera feed: false while it is lost or reopening (no frames, or frozen ones).
    bool camera_ok = true;
    // From the board supervision: every board of the fixture, and how many are faulted.
    struct Board {
        std::string id;
        bool ok = true;
        std::string cause;  // why it is faulted
    };
    std::vector<Board> boards;
    int boards_faulted = 0;
    // The result sinks' backlog in the outbox (the fleet's, MES'): results not taken yet
    // (the largest of the sinks) and the commit time of the oldest; none without sinks.
    std::optional<std::int64_t> outbox_backlog;
    std::optional<std::int64_t> outbox_oldest_ms;
    // Each sink on its own: its backlog, its last error (empty when it delivers) and the
    // results its far side refused for good (parked).
    struct Sink {
        std::string name;
        std::int64_t backlog = 0;
        std::optional<std::int64_t> oldest_ms;
        std::string last_error;
        std::int64_t parked = 0;
    };
    std::vector<Sink> sinks;
};

// One slot as the operator screen shows it.
// A wired unit as the station found it on the LAN: the id it announced and its address.
struct DiscoveredDevice {
    std::string device_id;
    std::string ip;
};

struct SlotView {
    std::string slot;
    std::optional<std::string> unit_serial;  // scanned or discovered
    std::optional<std::int64_t> unit_id;     // store id of the attempt in progress / last
    std::string step = "idle";  // idle resetting waiting_ready in_batch watching done faulted
    std::string led_color = "off";
    std::string led_pattern = "off";
    std::optional<double> led_freq_hz;
    std::optional<std::string> led_state;  // the recipe's name for it
    double elapsed_s = 0;
    std::optional<std::string> verdict;  // PASS FAIL INCONCLUSIVE INTERRUPTED; stays until reload
    std::optional<std::string> reason;
    // Why the slot is faulted (its board's failure), while step is "faulted".
    std::optional<std::string> fault;
    // A wired unit found on the LAN (until the slot takes its next unit).
    std::optional<DiscoveredDevice> discovered;
};

struct QrView {
    bool active = false;
    std::string payload;  // the JSON the QR encodes (contains the Wi-Fi password: QR display only)
    double expires_in_s = 0;
    int devices_used = 0;
    int devices_max = 30;
    std::int64_t generation = 0;  // changes whenever a new code replaces the old
};

struct BatchView {
    std::optional<std::int64_t> batch_id;
    std::string kind;  // unbind pre_activation wired
    std::string recipe;
    std::string state = "idle";  // idle running stopping done
    std::optional<std::string> operator_login;
    int units_done = 0;
    int pass = 0;
    int fail = 0;
    // Nothing left bound: devices the station removed from its account again after their
    // slot let go of them (re-paired from a code on the screen, or never loaded), and those
    // the last check found still bound to it. The target at a shift's end is 0 left bound.
    int strays_removed = 0;
    int left_bound = 0;
    // What runs it, as the store records it with the batch.
    std::optional<std::string> software_version;
    std::optional<std::string> recipe_sha256;
};

// One unit put into one slot: the operator scanned the slot's label and the unit's label
// (or picked the slot, then scanned). Units are never given to slots by position.
struct UnitLoad {
    std::string slot;
    std::optional<std::string> serial;  // the unit's label; none: the slot runs unlabelled
};

struct StartBatchRequest {
    std::string kind = "unbind";
    std::string recipe;  // product id of a loaded recipe
    std::string operator_login;
    // The slots to run and what each holds; empty: every slot, serials from the line's own
    // scanner where it has one.
    std::vector<UnitLoad> units;
};

// A live change for WebSocket clients: `topic` is "slot", "batch" or "qr".
struct StationEvent {
    std::string topic;
    std::string json;  // the view object as JSON
};

class StationService {
  public:
    virtual ~StationService() = default;
    virtual HealthReport health() = 0;

    // Line operations; the default implementations say the station has no line attached.
    virtual std::vector<SlotView> slots() { return {}; }
    virtual BatchView batch() { return {}; }
    virtual QrView qr() { return {}; }
    virtual std::vector<std::string> recipes() { return {}; }
    // The batch kinds (unbind, pre_activation, wired) this station can run for a recipe:
    // the flows the recipe declares that this line can finish. The screens offer only these.
    virtual std::vector<std::string> batch_kinds(const std::string& /*recipe*/) { return {}; }
    // Returns the batch id; throws std::invalid_argument with a message on refusal.
    virtual std::int64_t start_batch(const StartBatchRequest&) {
        throw Refusal("no_line", "no line attached to this station");
    }
    virtual void stop_batch(const std::string& /*actor*/) {
        throw Refusal("no_line", "no line attached to this station");
    }
    // Aborts one slot: its actuators are released at once.
    virtual void abort_slot(const std::string& /*slot*/, const std::string& /*actor*/) {
        throw Refusal("no_line", "no line attached to this station");
    }
    // Loads the next unit into a slot of the running batch that has its verdict (or has not
    // run yet). Throws std::invalid_argument when the slot is busy, no batch runs, or the
    // serial is already in a slot or already judged in this batch (re-test is for that).
    virtual void load_unit(const UnitLoad& /*load*/, const std::string& /*actor*/) {
        throw Refusal("no_line", "no line attached to this station");
    }
    // Clears a slot's verdict (reload) or re-tests its unit.
    virtual void reload_slot(const std::string& /*slot*/, bool /*retest*/,
                             const std::string& /*actor*/) {
        throw Refusal("no_line", "no line attached to this station");
    }
    // Annotated camera snapshot as PNG bytes; empty when there is no camera.
    virtual std::string camera_snapshot_png() { return {}; }

    // Live events; the listener is called from station threads and must not block.
    using EventListener = std::function<void(const StationEvent&)>;
    virtual int subscribe(EventListener) { return 0; }
    virtual void unsubscribe(int /*id*/) {}
};

}  // namespace linestation
