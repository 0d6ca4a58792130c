// `station batch` against a real `station serve` on the virtual line: the CLI goes through
// the HTTP API with a real login, so roles, CSRF and refusals are the dashboard's.

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>

#include "linestation/version.hpp"
#include "station/store/store.hpp"
#include "tests/common/process.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/web/api_client.hpp"

using linestation::testing::ApiClient;
using linestation::testing::ChildProcess;
using linestation::testing::run_process;
using linestation::testing::TempDir;

namespace {

struct ServedStation {
    TempDir dir;
    std::unique_ptr<ChildProcess> serve;
    std::string url;
    int port = 0;

    ServedStation() {
        const auto db = (dir / "station.db").string();
        auto add = [&](const char* login, const char* role, const char* password) {
            auto r =
                run_process({LS_STATION_BINARY, "user", "add", "--login", login, "--role", role,
                             "--products", "tuya-ipc-camera", "--password-stdin", "--db", db},
                            std::string(password) + "\n");
            EXPECT_EQ(r.exit_code, 0) << r.err;
        };
        add("op", "operator", "op-password-1");
        add("boss", "supervisor", "boss-password-1");
        serve = std::make_unique<ChildProcess>(std::vector<std::string>{
            LS_STATION_BINARY, "serve", "--port", "0", "--bind", "127.0.0.1", "--db", db});
        const auto line = serve->wait_for_line("listening on", 30);
        std::smatch m;
        if (std::regex_search(line, m, std::regex(R"(:(\d+)/)"))) {
            url = "http://127.0.0.1:" + m[1].str();
            port = std::stoi(m[1].str());
        }
    }

    linestation::testing::ProcessResult batch(std::vector<std::string> args,
                                              const std::string& login = "op",
                                              const std::string& password = "op-password-1") {
        std::vector<std::string> argv{LS_STATION_BINARY, "batch"};
        argv.insert(argv.end(), args.begin(), args.end());
        for (const auto& a : {std::string("--url"), url, std::string("--login"), login,
                              std::string("--password-stdin")}) {
            argv.push_back(a);
        }
        return run_process(argv, password + "\n");
    }
};

}  // namespace

TEST(BatchCli, StartsFollowsAndStopsABatchThroughTheApi) {
    ServedStation station;
    ASSERT_FALSE(station.url.empty()) << "serve did not print its port";

    auto idle = station.batch({"status"});
    ASSERT_EQ(idle.exit_code, 0) << idle.err;
    EXPECT_EQ(idle.out.find("\"state\":\"running\""), std::string::npos) << idle.out;

    auto started =
        station.batch({"start", "--recipe", "tuya-ipc-camera", "--units", "A1=RMA-0001,A2"});
    ASSERT_EQ(started.exit_code, 0) << started.err;
    EXPECT_NE(started.out.find("\"batch_id\":"), std::string::npos) << started.out;

    auto running = station.batch({"status", "--slots"});
    ASSERT_EQ(running.exit_code, 0) << running.err;
    EXPECT_NE(running.out.find("\"state\":\"running\""), std::string::npos) << running.out;
    EXPECT_NE(running.out.find("\"operator\":\"op\""), std::string::npos) << running.out;
    EXPECT_NE(running.out.find("RMA-0001"), std::string::npos) << "A1's serial: " << running.out;
    // What runs the batch: this build's version, and the recipe file's hash as sha256sum
    // prints it (the station hashes the bytes it loaded).
    EXPECT_NE(
        running.out.find(std::string("\"software_version\":\"") + linestation::kVersion + "\""),
        std::string::npos)
        << running.out;
    auto sum = run_process({"/usr/bin/sha256sum", LS_SOURCE_DIR "/recipes/tuya-ipc-camera.json"});
    ASSERT_EQ(sum.exit_code, 0) << sum.err;
    const auto hex = sum.out.substr(0, 64);
    EXPECT_NE(running.out.find("\"recipe_sha256\":\"" + hex + "\""), std::string::npos)
        << running.out;

    // A second start while one runs: the station's refusal, said plainly, exit 1.
    auto again = station.batch({"start", "--recipe", "tuya-ipc-camera"});
    EXPECT_EQ(again.exit_code, 1);
    EXPECT_NE(again.err.find("HTTP 409"), std::string::npos) << again.err;

    // A supervisor watches but does not run batches.
    auto boss = station.batch({"stop"}, "boss", "boss-password-1");
    EXPECT_EQ(boss.exit_code, 1);
    EXPECT_NE(boss.err.find("HTTP 403"), std::string::npos) << boss.err;

    auto stopped = station.batch({"stop"});
    ASSERT_EQ(stopped.exit_code, 0) << stopped.err;
    auto after = station.batch({"status"});
    EXPECT_EQ(after.out.find("\"state\":\"running\""), std::string::npos) << after.out;
    EXPECT_EQ(station.serve->stop(), 0);
}

// Each line action leaves exactly one audit row, written by the station with the actor the
// API passed: a supervisor counting actions in the audit log counts each once.
TEST(BatchCli, EveryLineActionIsAuditedOnce) {
    ServedStation station;
    ASSERT_NE(station.port, 0) << "serve did not print its port";
    auto started = station.batch({"start", "--recipe", "tuya-ipc-camera", "--slots", "A1,A2"});
    ASSERT_EQ(started.exit_code, 0) << started.err;
    ApiClient op(station.port);
    ASSERT_EQ(op.login("op", "op-password-1").status, 200);
    auto aborted = op.post("/api/slots/A1/abort");
    ASSERT_EQ(aborted.status, 200) << aborted.body;
    auto retest = op.post("/api/slots/A1/reload", R"({"retest":true})");
    ASSERT_EQ(retest.status, 200) << retest.body;
    auto stopped = station.batch({"stop"});
    ASSERT_EQ(stopped.exit_code, 0) << stopped.err;
    ASSERT_EQ(station.serve->stop(), 0);

    linestation::store::Store store(station.dir / "station.db");
    std::map<std::string, int> rows;
    std::map<std::string, std::string> detail;
    for (const auto& a : store.audit_log(0)) {
        if (a.actor != "op") continue;
        ++rows[a.action];
        detail[a.action] = a.detail_json;
    }
    for (const char* action : {"batch.start", "slot.abort", "slot.retest", "batch.stop"}) {
        EXPECT_EQ(rows[action], 1) << action;
    }
    // The batch row carries what ran it.
    auto batch = store.batch(1);
    ASSERT_TRUE(batch);
    EXPECT_EQ(batch->software_version, std::string(linestation::kVersion));
    ASSERT_TRUE(batch->recipe_sha256);
    EXPECT_EQ(batch->recipe_sha256->size(), 64u);
    // The one row keeps what the API's row used to say.
    EXPECT_NE(detail["batch.start"].find(R"("kind":"unbind")"), std::string::npos)
        << detail["batch.start"];
    EXPECT_NE(detail["batch.start"].find(R"("slots":["A1","A2"])"), std::string::npos)
        << detail["batch.start"];
    EXPECT_NE(detail["slot.retest"].find(R"("slot":"A1")"), std::string::npos);
}

TEST(BatchCli, RefusalsNameTheCause) {
    ServedStation station;
    ASSERT_FALSE(station.url.empty());
    auto wrong = station.batch({"status"}, "op", "not-the-password");
    EXPECT_EQ(wrong.exit_code, 1);
    EXPECT_NE(wrong.err.find("login as op: HTTP 401"), std::string::npos) << wrong.err;
    EXPECT_EQ(wrong.err.find("not-the-password"), std::string::npos) << "password echoed";

    auto recipe = station.batch({"start", "--recipe", "no-such-product"});
    EXPECT_EQ(recipe.exit_code, 1);
    EXPECT_NE(recipe.err.find("no-such-product"), std::string::npos) << recipe.err;

    auto serials = station.batch(
        {"start", "--recipe", "tuya-ipc-camera", "--slots", "A1,A2", "--serials", "only-one"});
    EXPECT_EQ(serials.exit_code, 2);
    EXPECT_NE(serials.err.find("--serials"), std::string::npos) << serials.err;

    auto nobody = run_process({LS_STATION_BINARY, "batch", "status", "--url", "http://127.0.0.1:1",
                               "--login", "op", "--password-stdin"},
                              "x\n");
    EXPECT_EQ(nobody.exit_code, 1);
    EXPECT_NE(nobody.err.find("cannot reach the station at http://127.0.0.1:1"), std::string::npos)
        << nobody.err;
}

// Over https the station's certificate is checked: trusted with --ca, refused without.
TEST(BatchCli, HttpsChecksTheStationsCertificate) {
    TempDir dir;
    auto made =
        run_process({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                     "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                     "-keyout", (dir / "key.pem").string(), "-out", (dir / "cert.pem").string()});
    ASSERT_EQ(made.exit_code, 0) << made.err;
    std::ofstream(dir / "station.json")
        << R"({"schema":1,"station":{"id":"tls-1"},"store":{"path":"st.db"},)"
        << R"("http":{"bind":"127.0.0.1","port":0,)"
        << R"("https":{"certificate":"cert.pem","private_key":"key.pem"}}})";
    const auto config = (dir / "station.json").string();
    auto add =
        run_process({LS_STATION_BINARY, "user", "add", "--login", "op", "--role", "operator",
                     "--products", "tuya-ipc-camera", "--password-stdin", "--config", config},
                    "op-password-1\n");
    ASSERT_EQ(add.exit_code, 0) << add.err;
    ChildProcess serve({LS_STATION_BINARY, "serve", "--config", config});
    const auto line = serve.wait_for_line("listening on", 30);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(line, m, std::regex(R"((https://127\.0\.0\.1:\d+))"))) << line;
    const std::string url = m[1].str();
    auto status = [&](std::vector<std::string> extra) {
        std::vector<std::string> argv{LS_STATION_BINARY, "batch", "status",          "--url", url,
                                      "--login",         "op",    "--password-stdin"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        return run_process(argv, "op-password-1\n");
    };
    auto trusted = status({"--ca", (dir / "cert.pem").string()});
    EXPECT_EQ(trusted.exit_code, 0) << trusted.err;
    EXPECT_NE(trusted.out.find("\"state\":\"idle\""), std::string::npos) << trusted.out;
    auto unknown = status({});
    EXPECT_EQ(unknown.exit_code, 1);
    EXPECT_NE(unknown.err.find("certificate verify failed"), std::string::npos) << unknown.err;
}
