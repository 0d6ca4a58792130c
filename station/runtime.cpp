#include "station/runtime.hpp"

#include <Poco/Logger.h>

#include <filesystem>

#include "linestation/version.hpp"

namespace linestation {

Runtime::Runtime(config::StationConfig config)
    : config_(std::move(config)), started_(std::chrono::steady_clock::now()) {
    if (config_.store_path.has_parent_path()) {
        std::filesystem::create_directories(config_.store_path.parent_path());
    }
    store_ = std::make_unique<store::Store>(config_.store_path);
    store_->upsert_station({config_.station_id, config_.station_name});
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
        ticker_.request_stop();
        ticker_.join();
    }
    std::lock_guard lock(line_mutex_);
    if (attachment_.line) {
        attachment_.line->recover();  // relays to their safe state on the way out
        attachment_.line.reset();
    }
}

void Runtime::run(std::stop_token stop) {
    using namespace std::chrono;
    const auto period = duration_cast<steady_clock::duration>(duration<double>(attachment_.tick_s));
    auto next = steady_clock::now();
    auto& log = Poco::Logger::get("station");
    while (!stop.stop_requested()) {
        {
            std::lock_guard lock(line_mutex_);
            try {
                if (attachment_.before_tick) attachment_.before_tick();
                attachment_.line->tick();
                if (attachment_.after_tick) attachment_.after_tick();
            } catch (const std::exception& e) {
                // A store or line failure must not end the station silently; keep ticking.
                log.error("line tick: %s", std::string(e.what()));
            }
        }
        next += period;
        const auto now = steady_clock::now();
        if (next < now) next = now;  // fell behind: do not try to catch up in a burst
        std::this_thread::sleep_until(next);
    }
}

flow::Line& Runtime::line() {
    if (!attachment_.line) throw std::invalid_argument("no line attached to this station");
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
    std::lock_guard lock(line_mutex_);
    return line().start_batch(request);
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
    std::lock_guard lock(line_mutex_);
    line().load_unit(load, actor);
}

void Runtime::reload_slot(const std::string& slot, bool retest, const std::string& actor) {
    std::lock_guard lock(line_mutex_);
    line().reload_slot(slot, retest, actor);
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
