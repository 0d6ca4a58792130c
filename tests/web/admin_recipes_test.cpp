// Admin editing of recipes and checking of fixtures, against a real server on loopback
// with a recipes folder of its own.
#include <gtest/gtest.h>

#include <Poco/JSON/Array.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "station/auth/password.hpp"
#include "station/config/recipe.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/web/api_client.hpp"
#include "tests/web/test_line.hpp"
#include "tests/web/test_users.hpp"
#include "web/server.hpp"

using linestation::testing::Answer;
using linestation::testing::ApiClient;
using linestation::testing::TempDir;
using linestation::testing::TestLine;
namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
    auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    return text;
}

class AdminRecipes : public ::testing::Test {
  protected:
    void SetUp() override {
        fs::create_directories(recipes);
        fs::copy_file(fs::path(LS_SOURCE_DIR) / "recipes/tuya-smart-plug.json",
                      recipes / "tuya-smart-plug.json");
        plug = read_file(recipes / "tuya-smart-plug.json");
        store = std::make_unique<linestation::store::Store>(dir / "st.db");
        for (const auto& [login, role] :
             {std::pair{"adm", "admin"}, {"sup", "supervisor"}, {"op", "operator"}}) {
            linestation::testing::add_test_user(*store, login, role, {"tuya-smart-plug"},
                                                std::string(login) + "-pw");
        }
        line = std::make_unique<TestLine>(store.get(), std::vector<std::string>{"tuya-smart-plug"});
    }

    void start(fs::path fixture_file = {}) {
        linestation::web::ServerOptions options;
        options.port = 0;
        options.store_path = dir / "st.db";
        options.recipes_dir = recipes;
        options.fixture_file = std::move(fixture_file);
        server = std::make_unique<linestation::web::Server>(*line, options);
        server->start();
    }

    ApiClient as(const std::string& login) {
        ApiClient c(server->port());
        auto a = c.login(login, login + "-pw");
        EXPECT_EQ(a.status, 200) << a.body;
        return c;
    }

    int audited(const std::string& action, const std::string& detail_part) {
        int n = 0;
        for (const auto& a : store->audit_log(0)) {
            if (a.action == action && a.detail_json.find(detail_part) != std::string::npos) ++n;
        }
        return n;
    }

    // The folder holds only the original recipe, byte for byte, and no save was audited.
    void expect_nothing_saved() {
        EXPECT_EQ(read_file(recipes / "tuya-smart-plug.json"), plug);
        EXPECT_EQ(std::distance(fs::directory_iterator(recipes), fs::directory_iterator()), 1);
        EXPECT_EQ(audited("recipe.save", ""), 0);
    }

    TempDir dir;
    fs::path recipes = dir / "recipes";
    std::string plug;
    std::unique_ptr<linestation::store::Store> store;
    std::unique_ptr<TestLine> line;
    std::unique_ptr<linestation::web::Server> server;
};

TEST_F(AdminRecipes, OnlyAdminsWithTheCsrfTokenMayReadOrSave) {
    start();
    ApiClient anonymous(server->port());
    EXPECT_EQ(anonymous.get("/api/admin/recipes").status, 401);
    for (const char* login : {"sup", "op"}) {
        auto c = as(login);
        EXPECT_EQ(c.get("/api/admin/recipes").status, 403) << login;
        EXPECT_EQ(c.get("/api/admin/recipes/tuya-smart-plug").status, 403) << login;
        EXPECT_EQ(c.call("PUT", "/api/admin/recipes/tuya-smart-plug", plug).status, 403) << login;
        EXPECT_EQ(c.get("/api/admin/fixture").status, 403) << login;
        EXPECT_EQ(c.post("/api/admin/fixture/validate", "{}").status, 403) << login;
    }
    auto adm = as("adm");
    adm.send_csrf = false;
    auto changed = replaced(plug, "\"Tuya smart plug\"", "\"Plug without token\"");
    auto a = adm.call("PUT", "/api/admin/recipes/tuya-smart-plug", changed);
    EXPECT_EQ(a.status, 403) << a.body;
    EXPECT_NE(a.body.find("CSRF"), std::string::npos) << a.body;
    expect_nothing_saved();
}

TEST_F(AdminRecipes, ListsEveryFileAndNamesABrokenOne) {
    {
        std::ofstream broken(recipes / "broken.json");
        broken << R"({"schema": 1, "product": {"id": "x"}})";
    }
    start();
    auto adm = as("adm");
    auto a = adm.get("/api/admin/recipes");
    ASSERT_EQ(a.status, 200) << a.body;
    auto rows = Poco::JSON::Parser().parse(a.body).extract<Poco::JSON::Array::Ptr>();
    ASSERT_EQ(rows->size(), 2u);
    auto broken = rows->getObject(0);
    EXPECT_EQ(broken->getValue<std::string>("file"), "broken.json");
    EXPECT_NE(broken->getValue<std::string>("error").find("$.product"), std::string::npos);
    auto good = rows->getObject(1);
    EXPECT_EQ(good->getValue<std::string>("product_id"), "tuya-smart-plug");
    EXPECT_EQ(good->getValue<std::string>("name"), "Tuya smart plug");
    EXPECT_EQ(good->getValue<std::string>("binding"), "weak");
    EXPECT_EQ(good->getValue<std::string>("file"), "tuya-smart-plug.json");

    auto text = adm.get("/api/admin/recipes/tuya-smart-plug");
    EXPECT_EQ(text.status, 200);
    EXPECT_EQ(text.body, plug);
    EXPECT_EQ(adm.get("/api/admin/recipes/no-such-product").status, 404);
}

TEST_F(AdminRecipes, AnInvalidRecipeIsRefusedWithItsPathAndNothingIsWritten) {
    start();
    auto adm = as("adm");
    auto bad = replaced(plug, "\"ready_s\": 30", "\"ready_s\": \"thirty\"");
    auto a = adm.call("PUT", "/api/admin/recipes/tuya-smart-plug", bad);
    ASSERT_EQ(a.status, 400) << a.body;
    auto message = a.json()->getValue<std::string>("error");
    EXPECT_NE(message.find("recipes/tuya-smart-plug.json"), std::string::npos) << message;
    EXPECT_NE(message.find("$.flows.repair.timeouts.ready_s"), std::string::npos) << message;
    EXPECT_NE(message.find("thirty"), std::string::npos) << message;
    EXPECT_EQ(message.find(recipes.string()), std::string::npos) << "no server paths: " << message;

    auto not_json = adm.call("PUT", "/api/admin/recipes/tuya-smart-plug", "{\"schema\": 1,");
    ASSERT_EQ(not_json.status, 400) << not_json.body;
    EXPECT_NE(not_json.body.find("not valid JSON"), std::string::npos) << not_json.body;

    expect_nothing_saved();
}

TEST_F(AdminRecipes, TheBodyMustBeTheProductInTheUrlAndTheIdCannotFormAPath) {
    start();
    auto adm = as("adm");
    auto other = replaced(plug, "\"id\": \"tuya-smart-plug\"", "\"id\": \"other-plug\"");
    auto mismatch = adm.call("PUT", "/api/admin/recipes/tuya-smart-plug", other);
    EXPECT_EQ(mismatch.status, 400) << mismatch.body;
    EXPECT_NE(mismatch.body.find("$.product.id"), std::string::npos) << mismatch.body;

    auto dotted = replaced(plug, "\"id\": \"tuya-smart-plug\"", "\"id\": \"..\"");
    for (const std::string& id :
         std::vector<std::string>{"..", ".hidden", "Upper", "a%2F..%2F..%2Fescape", "%2E%2E",
                                  "..%2Fescape", std::string(65, 'a')}) {
        auto a = adm.call("PUT", "/api/admin/recipes/" + id, id == ".." ? dotted : plug);
        EXPECT_TRUE(a.status == 400 || a.status == 404) << id << ": " << a.status << " " << a.body;
    }
    expect_nothing_saved();
    EXPECT_FALSE(fs::exists(dir / "escape.json"));
    EXPECT_FALSE(fs::exists(dir.path().parent_path() / "escape.json"));
}

TEST_F(AdminRecipes, AValidSaveIsWrittenAuditedAndReadBack) {
    start();
    auto adm = as("adm");
    auto changed = replaced(plug, "\"ready_s\": 30", "\"ready_s\": 45");
    auto a = adm.call("PUT", "/api/admin/recipes/tuya-smart-plug", changed);
    ASSERT_EQ(a.status, 200) << a.body;
    EXPECT_EQ(a.json()->getValue<std::string>("applies"), "next start");
    EXPECT_EQ(read_file(recipes / "tuya-smart-plug.json"), changed);
    EXPECT_EQ(adm.get("/api/admin/recipes/tuya-smart-plug").body, changed);
    EXPECT_EQ(audited("recipe.save", "\"product_id\":\"tuya-smart-plug\""), 1);
    // What was saved is what the station will load at its next start.
    auto loaded = linestation::config::load_recipes(recipes);
    EXPECT_EQ(loaded.at("tuya-smart-plug").timeout_s("repair", "ready_s", 0), 45);

    auto fresh = replaced(replaced(plug, "\"id\": \"tuya-smart-plug\"", "\"id\": \"plug-v2\""),
                          "\"Tuya smart plug\"", "\"Plug v2\"");
    auto created = adm.call("PUT", "/api/admin/recipes/plug-v2", fresh);
    ASSERT_EQ(created.status, 201) << created.body;
    EXPECT_EQ(read_file(recipes / "plug-v2.json"), fresh);
    EXPECT_EQ(audited("recipe.save", "\"product_id\":\"plug-v2\""), 1);
    EXPECT_EQ(linestation::config::load_recipes(recipes).size(), 2u);
    for (const auto& entry : fs::directory_iterator(recipes)) {
        EXPECT_EQ(entry.path().extension(), ".json") << "left behind: " << entry.path();
    }
}

TEST_F(AdminRecipes, ASaveKeepsTheProductInTheFileThatAlreadyHoldsIt) {
    fs::rename(recipes / "tuya-smart-plug.json", recipes / "plug.json");
    {
        // <id>.json holding another product must not be replaced by a save of <id>.
        std::ofstream other(recipes / "plug-v3.json");
        other << replaced(plug, "\"id\": \"tuya-smart-plug\"", "\"id\": \"something-else\"");
    }
    start();
    auto adm = as("adm");
    auto changed = replaced(plug, "\"ready_s\": 30", "\"ready_s\": 40");
    ASSERT_EQ(adm.call("PUT", "/api/admin/recipes/tuya-smart-plug", changed).status, 200);
    EXPECT_EQ(read_file(recipes / "plug.json"), changed);
    EXPECT_FALSE(fs::exists(recipes / "tuya-smart-plug.json"));

    auto v3 = replaced(plug, "\"id\": \"tuya-smart-plug\"", "\"id\": \"plug-v3\"");
    auto a = adm.call("PUT", "/api/admin/recipes/plug-v3", v3);
    EXPECT_EQ(a.status, 409) << a.body;
    EXPECT_NE(read_file(recipes / "plug-v3.json").find("something-else"), std::string::npos);
}

TEST_F(AdminRecipes, FixtureValidationAnswersSlotsOrThePathOfTheError) {
    start();
    auto adm = as("adm");
    auto current = adm.get("/api/admin/fixture");
    ASSERT_EQ(current.status, 200);
    EXPECT_TRUE(current.json()->getValue<bool>("virtual"));

    auto fixture = read_file(fs::path(LS_SOURCE_DIR) / "fixtures/virtual-8.json");
    auto good = adm.post("/api/admin/fixture/validate", fixture);
    ASSERT_EQ(good.status, 200) << good.body;
    EXPECT_TRUE(good.json()->getValue<bool>("ok"));
    EXPECT_EQ(good.json()->getValue<int>("slots"), 8);
    EXPECT_EQ(good.json()->getValue<std::string>("applies"), "restart");

    auto bad =
        adm.post("/api/admin/fixture/validate",
                 replaced(fixture, "\"driver\": \"modbus-rtu\"", "\"driver\": \"telepathy\""));
    ASSERT_EQ(bad.status, 400) << bad.body;
    auto message = bad.json()->getValue<std::string>("error");
    EXPECT_NE(message.find("$.boards[0].driver"), std::string::npos) << message;
    EXPECT_NE(message.find("telepathy"), std::string::npos) << message;

    adm.send_csrf = false;
    EXPECT_EQ(adm.post("/api/admin/fixture/validate", fixture).status, 403);
}

TEST_F(AdminRecipes, TheLiveFixtureFileIsShownWhenTheLineHasOne) {
    auto fixture_file = dir / "rig.json";
    fs::copy_file(fs::path(LS_SOURCE_DIR) / "fixtures/virtual-8.json", fixture_file);
    start(fixture_file);
    auto adm = as("adm");
    auto a = adm.get("/api/admin/fixture");
    ASSERT_EQ(a.status, 200);
    EXPECT_EQ(a.body, read_file(fixture_file));
}

TEST_F(AdminRecipes, TheFixtureIsShownWithoutTheCamerasPassword) {
    auto text = read_file(fs::path(LS_SOURCE_DIR) / "fixtures/virtual-8.json");
    const std::string url = "rtsp://admin:S3cr3t-pw@10.0.0.5:554/stream1";
    auto source = text.find("\"source\"");
    ASSERT_NE(source, std::string::npos);
    auto open = text.find('"', text.find(':', source) + 1);
    auto close = text.find('"', open + 1);
    text.replace(open + 1, close - open - 1, url);
    auto fixture_file = dir / "rig.json";
    std::ofstream(fixture_file) << text;
    start(fixture_file);
    auto a = as("adm").get("/api/admin/fixture");
    ASSERT_EQ(a.status, 200);
    EXPECT_EQ(a.body.find("S3cr3t-pw"), std::string::npos) << a.body;
    EXPECT_NE(a.body.find("rtsp://admin:***@10.0.0.5:554/stream1"), std::string::npos) << a.body;
}

}  // namespace
