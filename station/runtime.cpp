#include "station/runtime.hpp"

#include <Poco/Logger.h>

#include <sqlite3.h>

#include <filesystem>
#include <stdexcept>

#include "linestation/version.hpp"

namespace linestation {

Runtime::Runtime(config::StationConfig config)
    : config_(std::move(config)), started_(std::chrono::steady_clock::now()) {
    if (config_.store_path.has_parent_path()) {
        std::filesystem::create_directories(config_.store_path.parent_path());
    }
    store_ = std::make_unique<store::Store>(config_.store_path);
    if (config_.store_max_size_mb) {
        store_->limit_size(static_cast<std::uint64_t>(*config_.store_max_size_mb * 1024 * 1024));
    }
    store_->upsert_station({config_.station_id, config_.station_name});
}

namespace {

// The store's answers that mean "cannot write now" (disk full, read-only file or folder,
// I/O error), as opposed to a bug or a busy lock.
bool is_write_failure(int code) {
    switch (code & 0xff) {  // primary code of an extended one
        case SQLITE_FULL:
        case SQLITE_READONLY:
        case SQLITE_IOERR:
        case SQLITE_CANTOPEN:
            return true;
        default:
            return false;
    }
}

}  // namespace

bool Runtime::note_store_failure(const std::exception& e) {
    const auto* sqlite = dynamic_cast<const store::SqliteError*>(&e);
    if (!sqlite || !is_write_failure(sqlite->code())) return false;
    std::lock_guard lock(store_fault_mutex_);
    if (store_fault_.empty()) {
        Poco::Logger::get("station").error(
            "store %s cannot be written (%s): no units are admitted until it can; committed "
            "verdicts are kept",
            config_.store_path.string(), std::string(e.what()));
        next_store_probe_ = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    }
    store_fault_ = std::string("the store cannot be written: ") + e.what();
    return true;
}

// While the store refuses writes: every 2 s, an audit row big enough to need new pages (as
// the writes that failed did; a small row could fit in a page's slack and prove nothing).
// Once one commits the station admits units again.
void Runtime::probe_store() {
    {
        std::lock_guard lock(store_fault_mutex_);
        if (store_fault_.empty() || std::chrono::steady_clock::now() < next_store_probe_) return;
        next_store_probe_ = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    }
    try {
        const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
        store_->audit(now_ms, "station", "store.writable",
                      "{\"checked_bytes\":\"" + std::string(8192, '-') + "\"}");
    } catch (const store::SqliteError& e) {
        if (is_write_failure(e.code())) return;
        throw;
    }
    std::lock_guard lock(store_fault_mutex_);
    store_fault_.clear();
    Poco::Logger::get("station").notice("store %s can be written again: units are admitted",
                                        config_.store_path.string());
}

void Runtime::require_writable_store() {
    std::lock_guard lock(store_fault_mutex_);
    // The API answers a refusal with 409, its code and its message.
    if (!store_fault_.empty())
        throw Refusal("store_fault", store_fault_ + "; no units are admitted",
                      {{"problem", store_fault_}});
}

Runtime::~Runtime() {
    detach_line();
}

HealthReport Runtime::health() {
    HealthReport h;
    h.version = kVersion;
    h.station_id = config_.station_id;
    h.station_name = config_.station_name;
    h.uptime_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    try {
        h.schema_version = store_->schema_version();
        // A cheap liveness query rather than a full integrity check on every poll.
        h.store_ok = h.schema_version > 0;
        for (const auto& [sink, b] : store_->outbox_backlogs()) {
            h.sinks.push_back({sink, b.count, b.oldest_ms, b.last_error, b.parked});
            if (!h.outbox_backlog || b.count > *h.outbox_backlog) {
                h.outbox_backlog = b.count;
                h.outbox_oldest_ms = b.oldest_ms;
            }
        }
    } catch (const std::exception&) {
        h.store_ok = false;
    }
    h.virtual_line = !config_.fixture_file.has_value();
    std::lock_guard lock(line_mutex_);
    if (attachment_.line) {
        auto fixture = attachment_.line->fixture_health();
        h.camera_ok = fixture.camera_ok;
        for (const auto& b : fixture.boards) {
            h.boards.push_back({b.board, b.healthy, b.cause});
            if (!b.healthy) ++h.boards_faulted;
        }
    }
    {
        std::lock_guard fault_lock(store_fault_mutex_);
        h.store_problem = store_fault_;
    }
    if (!h.store_problem.empty()) h.store_ok = false;
    return h;
}

void Runtime::attach_line(LineAttachment attachment) {
    detach_line();
    if (!attachment.line || !attachment.clock) {
        throw std::invalid_argument("attach_line: a line and its clock are needed");
    }
    {
        std::lock_guard lock(line_mutex_);
        attachment_ = std::move(attachment);
        auto interrupted = attachment_.line->recover();
        if (!interrupted.empty()) {
            Poco::Logger::get("station").warning(
                "%z units were in flight when the station stopped: marked INTERRUPTED",
                interrupted.size());
        }
    }
    ticker_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

void Runtime::detach_line() {
    if (ticker_.joinable()) {
        // A clean stop settles the quota its units in flight reserved: they are interrupted
        // now, and the ticks go on while the cloud is asked what became of each.
        double until_s = 0;
        {
            std::lock_guard lock(line_mutex_);
            try {
                attachment_.line->begin_stop("station");
            } catch (const std::exception& e) {
                Poco::Logger::get("station").error("stopping: %s", std::string(e.what()));
            }
            until_s = attachment_.clock->now_s() + attachment_.stop_settle_s;
        }
        const auto until = std::chrono::steady_clock::now() +
                           std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                               std::chrono::duration<double>(attachment_.stop_settle_s));
        while (std::chrono::steady_clock::now() < until) {
            {
                std::lock_guard lock(line_mutex_);
                if (attachment_.line->stop_settled() || attachment_.clock->now_s() >= until_s)
                    break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        ticker_.request_stop();
        ticker_.join();
        std::lock_guard lock(line_mutex_);
        try {
            attachment_.line->end_stop();
        } catch (const std::exception& e) {
            Poco::Logger::get("station").error("stopping: %s", std::string(e.what()));
        }
    }
    std::lock_guard lock(line_mutex_);
    if (!attachment_.line) return;
    try {
        attachment_.line->recover();  // relays to their safe state on the way out
    } catch (const std::exception& e) {
        // The relays are safe by now (recover drives them first); the units in flight stay
        // as they are in the store and the next start marks them INTERRUPTED.
        if (!note_store_failure(e)) {
            Poco::Logger::get("station").error("stopping the line: %s", std::string(e.what()));
        }
        Poco::Logger::get("station").warning(
            "the units in flight could not be marked INTERRUPTED on the way out: the next "
            "start marks them");
    }
    attachment_.line.reset();
}

void Runtime::run(std::stop_token stop) {
    using namespace std::chrono;
    const auto period = duration_cast<steady_clock::duration>(duration<double>(attachment_.tick_s));
    auto next = steady_clock::now();
    auto& log = Poco::Logger::get("station");
    while (!stop.stop_requested()) {
        // The line ticks with the camera's frames, and also when a held reset is due to
        // end: a press lasts its recipe time, not that rounded up to the next frame.
        std::optional<double> due;
        double clock_now = 0;
        {
            std::lock_guard lock(line_mutex_);
            try {
                probe_store();
                if (attachment_.before_tick) attachment_.before_tick();
                attachment_.line->tick();
                // The virtual operator loads units: not while they cannot be recorded.
                bool admitting = false;
                {
                    std::lock_guard fault(store_fault_mutex_);
                    admitting = store_fault_.empty();
                }
                if (attachment_.after_tick && admitting) attachment_.after_tick();
            } catch (const std::exception& e) {
                // A store or line failure must not end the station silently; keep ticking.
                if (!note_store_failure(e)) log.error("line tick: %s", std::string(e.what()));
            }
            due = attachment_.line->release_due_s();
            clock_now = attachment_.clock->now_s();
        }
        const auto now = steady_clock::now();
        if (now >= next) {
            next += period;
            if (next < now) next = now;  // fell behind: do not try to catch up in a burst
        }
        auto wake = next;
        if (due) {
            // A millisecond past the deadline, so the tick that wakes finds it passed.
            const auto at = now + duration_cast<steady_clock::duration>(
                                      duration<double>(std::max(0.0, *due - clock_now) + 0.001));
            wake = std::min(wake, at);
        }
        std::this_thread::sleep_until(wake);
    }
}

flow::Line& Runtime::line() {
    if (!attachment_.line) throw Refusal("no_line", "no line attached to this station");
    return *attachment_.line;
}

void Runtime::with_line(const std::function<void(flow::Line&)>& f) {
    std::lock_guard lock(line_mutex_);
    f(line());
}

std::vector<SlotView> Runtime::slots() {
    std::lock_guard lock(line_mutex_);
    return attachment_.line ? attachment_.line->slots() : std::vector<SlotView>{};
}

BatchView Runtime::batch() {
    std::lock_guard lock(line_mutex_);
    return attachment_.line ? attachment_.line->batch() : BatchView{};
}

QrView Runtime::qr() {
    std::lock_guard lock(line_mutex_);
    return attachment_.line ? attachment_.line->qr() : QrView{};
}

std::vector<std::string> Runtime::recipes() {
    std::lock_guard lock(line_mutex_);
    return attachment_.line ? attachment_.line->recipe_ids() : std::vector<std::string>{};
}

std::vector<std::string> Runtime::batch_kinds(const std::string& recipe) {
    std::lock_guard lock(line_mutex_);
    return attachment_.line ? attachment_.line->batch_kinds(recipe) : std::vector<std::string>{};
}

std::int64_t Runtime::start_batch(const StartBatchRequest& request) {
    require_writable_store();
    std::lock_guard lock(line_mutex_);
    try {
        return line().start_batch(request);
    } catch (const std::exception& e) {
        if (note_store_failure(e)) require_writable_store();
        throw;
    }
}

void Runtime::stop_batch(const std::string& actor) {
    std::lock_guard lock(line_mutex_);
    line().stop_batch(actor);
}

void Runtime::abort_slot(const std::string& slot, const std::string& actor) {
    std::lock_guard lock(line_mutex_);
    line().abort_slot(slot, actor);
}

void Runtime::load_unit(const UnitLoad& load, const std::string& actor) {
    require_writable_store();
    std::lock_guard lock(line_mutex_);
    try {
        line().load_unit(load, actor);
    } catch (const std::exception& e) {
        if (note_store_failure(e)) require_writable_store();
        throw;
    }
}

void Runtime::reload_slot(const std::string& slot, bool retest, const std::string& actor) {
    require_writable_store();
    std::lock_guard lock(line_mutex_);
    try {
        line().reload_slot(slot, retest, actor);
    } catch (const std::exception& e) {
        if (note_store_failure(e)) require_writable_store();
        throw;
    }
}

std::string Runtime::camera_snapshot_png() {
    std::lock_guard lock(line_mutex_);
    return attachment_.line ? attachment_.line->camera_snapshot_png() : std::string{};
}

int Runtime::subscribe(EventListener listener) {
    std::lock_guard lock(line_mutex_);
    return attachment_.line ? attachment_.line->subscribe(std::move(listener)) : 0;
}

void Runtime::unsubscribe(int id) {
    std::lock_guard lock(line_mutex_);
    if (attachment_.line) attachment_.line->unsubscribe(id);
}

}  // namespace linestation
