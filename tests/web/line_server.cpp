// `station serve` stand-in for the browser tests until the controller's virtual line is
// merged: the real web server over the test line, with its records in a real store.
//   web_test_line_server --db FILE [--port N] [--step S] [--seed-units N] [--qr-every S]
//                        [--left-bound LEFT:REMOVED] [--evidence-max-bytes N]
//                        [--jump-s SECONDS]
// With --jump-s, each SIGUSR1 moves the server's clock (sessions, throttles, reports) that
// many seconds ahead: a browser test sees a shift's 12 hours pass in a moment.
// Prints "listening on http://127.0.0.1:PORT/" like station serve.
#include <atomic>
#include <csignal>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "drivers/core/clock.hpp"
#include "station/store/store.hpp"
#include "tests/web/test_line.hpp"
#include "web/server.hpp"

namespace {

// The system's time plus the jumps asked for so far.
class JumpingClock final : public linestation::Clock {
  public:
    explicit JumpingClock(double jump_s) : jump_s_(jump_s) {}
    void jump() { ++jumps_; }
    double now_s() const override { return system_.now_s() + ahead_s(); }
    std::int64_t wall_ms() const override {
        return system_.wall_ms() + static_cast<std::int64_t>(ahead_s() * 1000);
    }
    void pause(double seconds) const override { system_.pause(seconds); }

  private:
    double ahead_s() const { return jump_s_ * jumps_.load(); }
    linestation::SystemClock system_;
    double jump_s_;
    std::atomic<int> jumps_{0};
};

// Finished attempts over the last day: the supervisor charts' data in the browser tests.
// Three batches on two stations by two operators, so that each filter of the supervisor's
// page (station, operator, product, batch) takes a different share: batch 1 (station-1, the
// day's operator) has half the units, batches 2 (station-1) and 3 (station-2), both the
// night operator's, a quarter each; a third of every batch is cam-b.
void seed_units(linestation::store::Store& store, int count) {
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    std::mt19937 random(7);
    const char* reasons[] = {"never_ready_after_unbind", "cloud_timeout", "quota_exceeded"};
    const std::pair<const char*, const char*> runs[] = {{"station-1", "seeded-operator"},
                                                        {"station-1", "night-operator"},
                                                        {"station-2", "night-operator"}};
    std::vector<std::int64_t> batches;
    for (const auto& [station, login] : runs) {
        linestation::store::BatchRecord b;
        b.kind = "unbind";
        b.recipe = "cam-a";
        b.station_id = station;
        b.operator_login = login;
        b.started_ms = now - 20LL * 3'600'000;
        batches.push_back(store.start_batch(b));
    }
    for (int i = 0; i < count; ++i) {
        const std::size_t run = i % 4 < 2 ? 0 : static_cast<std::size_t>(i % 4 - 1);
        linestation::store::UnitRecord u;
        u.batch_id = batches[run];
        u.serial = "SEED-" + std::to_string(i);
        u.product_id = i % 3 == 0 ? "cam-b" : "cam-a";
        u.station_id = runs[run].first;
        u.slot = "A" + std::to_string(i % 4 + 1);
        u.started_ms = now - static_cast<std::int64_t>(random() % (20 * 3'600'000LL));
        auto id = store.begin_unit(u);
        bool pass = random() % 4 != 0;
        store.finish_unit(id, pass ? "PASS" : "FAIL", pass ? "" : reasons[random() % 3], "{}",
                          u.started_ms + 20'000 + static_cast<std::int64_t>(random() % 100'000));
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::string db, port = "0", step = "0.4";
    double qr_every_s = 0;
    double jump_s = 0;
    int seed = 0;
    std::pair<int, int> left_bound{0, 0};
    linestation::store::EvidenceRetention retention;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string key = argv[i], value = argv[i + 1];
        if (key == "--db")
            db = value;
        else if (key == "--port")
            port = value;
        else if (key == "--step")
            step = value;
        else if (key == "--seed-units")
            seed = std::stoi(value);
        else if (key == "--qr-every")
            qr_every_s = std::stod(value);
        else if (key == "--jump-s")
            jump_s = std::stod(value);
        else if (key == "--evidence-max-bytes")
            retention.max_bytes = std::stoull(value);
        else if (key == "--left-bound" && value.find(':') != std::string::npos)
            left_bound = {std::stoi(value), std::stoi(value.substr(value.find(':') + 1))};
        else {
            std::cerr << "unknown option " << key << "\n";
            return 2;
        }
    }
    if (db.empty()) {
        std::cerr << "usage: web_test_line_server --db FILE [--port N] [--step S] [--seed-units N] "
                     "[--qr-every S] [--left-bound LEFT:REMOVED] [--evidence-max-bytes N] "
                     "[--jump-s SECONDS]\n";
        return 2;
    }
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    linestation::store::Store store(db);
    if (seed > 0) seed_units(store, seed);
    linestation::testing::TestLine line(&store, {"cam-a", "cam-b"}, std::stod(step));
    line.set_left_bound(left_bound.first, left_bound.second);
    // The supervisor's card reads the devices left bound from the store, as on a station.
    for (int i = 1; i <= left_bound.first; ++i) {
        store.record_left_bound({0,
                                 "left-bound-device-" + std::to_string(i),
                                 1,
                                 "AbCd123" + std::to_string(i),
                                 {},
                                 {},
                                 {},
                                 1'764'000'000'000 + i * 60'000,
                                 {}});
    }
    line.set_evidence_retention(retention);
    linestation::web::ServerOptions options;
    options.port = std::stoi(port);
    options.store_path = db;
    options.summary_max_age_s = 0.5;
    JumpingClock clock(jump_s);
    options.clock = &clock;
    linestation::web::Server server(line, options);
    server.start();
    std::cout << "listening on http://127.0.0.1:" << server.port() << "/" << std::endl;
    // A new QR code every few seconds, as the scheduler replaces one before it expires.
    std::atomic<bool> stopping{false};
    std::thread rotation;
    if (qr_every_s > 0) {
        rotation = std::thread([&] {
            while (!stopping) {
                std::this_thread::sleep_for(std::chrono::duration<double>(qr_every_s));
                line.rotate_qr();
            }
        });
    }
    int signal = 0;
    while (sigwait(&stop_signals, &signal) == 0 && signal == SIGUSR1) {
        clock.jump();
        std::cout << "clock moved " << jump_s << " s ahead" << std::endl;
    }
    stopping = true;
    if (rotation.joinable()) rotation.join();
    server.stop();
    return 0;
}
