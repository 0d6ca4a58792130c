// The fault matrix's store case (issue 16): the store stops taking writes mid-batch, as on
// a full disk. SQLite's max_page_count makes the real SQLITE_FULL a full disk gives, through
// the same code, without a mount (the station's own "store": {"max_size_mb"} cap). The
// station must then admit no units and say why on /api/health and in its log, keep every
// record it had committed, and admit units again once the store takes writes.
// The read-only case is the kernel's own: an ext4 file system mounted errors=remount-ro
// that meets an error turns read-only under the open store (mount -o remount,abort makes
// that error on purpose). It needs root and a loop device; without them it is skipped.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "app/demo_line.hpp"
#include "station/config/fixture.hpp"
#include "station/config/recipe.hpp"
#include "station/config/shipped_files.hpp"
#include "station/logging.hpp"
#include "station/runtime.hpp"
#include "tests/common/process.hpp"
#include "tests/common/temp_dir.hpp"

using linestation::testing::run_process;
using linestation::testing::TempDir;
using ::testing::HasSubstr;

namespace {

// Waits (real time) until `done` or `limit_s` passes; true when done.
template <typename Done>
bool wait_until(Done done, double limit_s) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(limit_s);
    while (!done()) {
        if (std::chrono::steady_clock::now() > end) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return true;
}

std::string file_text(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// The verdicts committed so far, read on a connection of the test's own (the station's
// belongs to its line thread).
std::map<std::int64_t, std::string> committed_verdicts(const std::filesystem::path& file) {
    linestation::store::Store store(file);
    std::map<std::int64_t, std::string> committed;
    for (std::int64_t id = 1; id <= store.count_units(); ++id) {
        auto u = store.unit(id);
        if (u && u->verdict) committed[id] = *u->verdict;
    }
    return committed;
}

// The store is sound and holds each of `committed` with its verdict.
void expect_kept(linestation::store::Store& store,
                 const std::map<std::int64_t, std::string>& committed) {
    EXPECT_EQ(store.integrity_check(), "ok");
    for (const auto& [id, verdict] : committed) {
        auto u = store.unit(id);
        ASSERT_TRUE(u && u->verdict) << "unit " << id << " lost its verdict";
        EXPECT_EQ(*u->verdict, verdict) << "unit " << id;
    }
}

// A station on the virtual line (real time), its store at `store_path` and its log at
// `log_file`, with an unbind batch started.
struct RunningLine {
    RunningLine(const std::filesystem::path& store_path, const std::filesystem::path& log_file)
        : config(configured(store_path, log_file)),
          runtime(config),
          demo(runtime,
               linestation::config::load_fixture(linestation::config::shipped_files().fixtures_dir /
                                                 "virtual-8.json"),
               linestation::config::load_recipes(config.recipes_dir), 0.5) {
        request.kind = "unbind";
        request.recipe = "tuya-ipc-camera";
        request.operator_login = "tester";
        runtime.start_batch(request);
    }

    static linestation::config::StationConfig configured(const std::filesystem::path& store_path,
                                                         const std::filesystem::path& log_file) {
        auto config = linestation::config::default_station_config();
        config.store_path = store_path;
        config.log_file = log_file;
        linestation::configure_logging(config.log_file, "information", false);
        return config;
    }

    // Neither a batch nor a reloaded slot is admitted.
    void expect_no_admission() {
        try {
            runtime.start_batch(request);
            ADD_FAILURE() << "a batch was started on a store that takes no writes";
        } catch (const std::invalid_argument& e) {
            EXPECT_THAT(e.what(), HasSubstr("no units are admitted"));
        }
        try {
            runtime.reload_slot("A1", false, "tester");
            ADD_FAILURE() << "a slot was reloaded on a store that takes no writes";
        } catch (const std::invalid_argument& e) {
            EXPECT_THAT(e.what(), HasSubstr("no units are admitted"));
        }
    }

    linestation::config::StationConfig config;
    linestation::Runtime runtime;
    linestation::app::DemoLine demo;
    linestation::StartBatchRequest request;
};

// An ext4 file system in an image file, loop-mounted with errors=remount-ro; unmounted
// when it goes. (run_process takes a program's path: Debian 12's merged /usr.)
class LoopMount {
  public:
    LoopMount(std::filesystem::path image, std::filesystem::path point)
        : image_(std::move(image)), point_(std::move(point)) {
        std::filesystem::create_directories(point_);
        for (const auto& step :
             {std::vector<std::string>{"/usr/bin/truncate", "-s", "64M", image_.string()},
              std::vector<std::string>{"/usr/sbin/mkfs.ext4", "-q", "-F", image_.string()}}) {
            auto made = run_process(step);
            if (made.exit_code != 0) {
                problem_ = step[0] + ": " + made.err;
                return;
            }
        }
        mount();
    }
    ~LoopMount() { unmount(); }
    LoopMount(const LoopMount&) = delete;
    LoopMount& operator=(const LoopMount&) = delete;

    void mount() {
        auto mounted = run_process(
            {"/usr/bin/mount", "-o", "loop,errors=remount-ro", image_.string(), point_.string()});
        mounted_ = mounted.exit_code == 0;
        if (!mounted_) problem_ = "mount -o loop: " + mounted.err;
    }
    void unmount() {
        if (!mounted_) return;
        if (run_process({"/usr/bin/umount", point_.string()}).exit_code != 0) {
            run_process({"/usr/bin/umount", "-l", point_.string()});
        }
        mounted_ = false;
    }
    // The kernel's reaction to an ext4 error under errors=remount-ro, open files and all.
    std::string make_read_only() {
        auto aborted = run_process({"/usr/bin/mount", "-o", "remount,abort", point_.string()});
        return aborted.exit_code == 0 ? "" : aborted.err;
    }
    bool mounted() const { return mounted_; }
    const std::string& problem() const { return problem_; }

  private:
    std::filesystem::path image_;
    std::filesystem::path point_;
    bool mounted_ = false;
    std::string problem_;
};

}  // namespace

TEST(StoreFault, AFullStoreStopsAdmissionSaysWhyKeepsWhatWasCommittedAndRecovers) {
    TempDir dir;
    RunningLine line(dir / "station.db", dir / "station.log");
    auto& runtime = line.runtime;
    const auto& config = line.config;

    // Some verdicts committed (real time on the virtual line).
    linestation::store::Store store(config.store_path);
    std::map<std::int64_t, std::string> committed;
    ASSERT_TRUE(wait_until(
        [&] {
            committed = committed_verdicts(config.store_path);
            return committed.size() >= 2;
        },
        150))
        << "no verdicts from the virtual line";
    const auto events_before = store.events(committed.begin()->first).size();

    // The disk is full from now on: not one more page.
    runtime.with_line([&](linestation::flow::Line&) { runtime.store().limit_size(0); });
    ASSERT_TRUE(wait_until([&] { return !runtime.health().store_problem.empty(); }, 60))
        << "the station did not notice that its store takes no writes";
    auto health = runtime.health();
    EXPECT_FALSE(health.store_ok);
    EXPECT_THAT(health.store_problem, HasSubstr("cannot be written"));
    EXPECT_THAT(health.store_problem, HasSubstr("full"));
    line.expect_no_admission();
    // The virtual operator loads nothing either: no unit row appears while it is full.
    const auto units_at_fault = store.count_units();
    std::this_thread::sleep_for(std::chrono::seconds(3));
    EXPECT_EQ(store.count_units(), units_at_fault);

    // Nothing committed was lost.
    expect_kept(store, committed);
    EXPECT_EQ(store.events(committed.begin()->first).size(), events_before);

    // Room again: the station finds out by itself and admits units.
    runtime.with_line(
        [&](linestation::flow::Line&) { runtime.store().limit_size(std::uint64_t{1} << 30); });
    ASSERT_TRUE(wait_until([&] { return runtime.health().store_problem.empty(); }, 30));
    EXPECT_TRUE(runtime.health().store_ok);
    // The log said both (its file is buffered: closed here by logging elsewhere).
    linestation::configure_logging("", "information", false);
    const auto log = file_text(config.log_file);
    EXPECT_THAT(log, HasSubstr("cannot be written"));
    EXPECT_THAT(log, HasSubstr("no units are admitted until it can"));
    EXPECT_THAT(log, HasSubstr("can be written again"));
}

TEST(StoreFault, AStoreWhoseFileSystemTurnsReadOnlyStopsAdmissionSaysWhyAndLosesNothing) {
    TempDir dir;
    LoopMount mount(dir / "store.img", dir / "mnt");
    if (!mount.mounted()) GTEST_SKIP() << "needs root and a loop device: " << mount.problem();
    const auto store_path = dir / "mnt" / "station.db";
    std::map<std::int64_t, std::string> committed;
    {
        RunningLine line(store_path, dir / "station.log");
        ASSERT_TRUE(wait_until(
            [&] {
                committed = committed_verdicts(store_path);
                return committed.size() >= 2;
            },
            150))
            << "no verdicts from the virtual line";

        ASSERT_EQ(mount.make_read_only(), "");
        ASSERT_TRUE(wait_until([&] { return !line.runtime.health().store_problem.empty(); }, 60))
            << "the station did not notice that its store's file system is read-only";
        const auto health = line.runtime.health();
        EXPECT_FALSE(health.store_ok);
        EXPECT_THAT(health.store_problem, HasSubstr("cannot be written"));
        line.expect_no_admission();
        // Verdicts still being decided cannot be committed; none may be taken for one that was.
        std::this_thread::sleep_for(std::chrono::seconds(3));
        EXPECT_FALSE(line.runtime.health().store_ok);

        // The station stops on its read-only store without a crash, and no reset stays
        // pressed on the way out (it cannot mark its units INTERRUPTED, which must not
        // keep it from releasing the relays).
        auto& resets = line.demo.twins().twin("reset-relays");
        int pressed_before = 0;
        for (int ch = 0; ch < resets.channels(); ++ch) pressed_before += resets.channel(ch);
        line.runtime.detach_line();
        for (int ch = 0; ch < resets.channels(); ++ch) {
            EXPECT_FALSE(resets.channel(ch)) << "reset " << ch << " still pressed after the stop ("
                                             << pressed_before << " were pressed before it)";
        }
    }

    linestation::configure_logging("", "information", false);
    const auto log = file_text(dir / "station.log");
    EXPECT_THAT(log, HasSubstr("cannot be written"));
    EXPECT_THAT(log, HasSubstr("no units are admitted until it can"));

    // Mounted again (as after a reboot): every verdict committed before is there, intact.
    mount.unmount();
    mount.mount();
    ASSERT_TRUE(mount.mounted()) << mount.problem();
    linestation::store::Store store(store_path);
    expect_kept(store, committed);
}
