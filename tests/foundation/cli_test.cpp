#include <gtest/gtest.h>

#include <fstream>

#include "station/store/store.hpp"
#include "station/auth/password.hpp"
#include "tests/common/process.hpp"
#include "tests/common/temp_dir.hpp"

using linestation::testing::run_process;
using linestation::testing::TempDir;

TEST(Cli, HelpListsSubcommands) {
    auto r = run_process({LS_STATION_BINARY, "--help"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.out.find("serve"), std::string::npos);
    EXPECT_NE(r.out.find("user"), std::string::npos);
}

TEST(Cli, EverySubcommandHasHelp) {
    auto r = run_process({LS_STATION_BINARY, "serve", "--help"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.out.find("--config"), std::string::npos);
}

TEST(Cli, UnknownOptionIsAClearErrorWithNonZeroExit) {
    auto r = run_process({LS_STATION_BINARY, "serve", "--bogus"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--bogus"), std::string::npos) << r.err;
    auto u = run_process({LS_STATION_BINARY, "frobnicate"});
    EXPECT_EQ(u.exit_code, 2);
    EXPECT_NE(u.err.find("unknown subcommand"), std::string::npos);
}

TEST(Cli, OptionMissingItsValueIsAnError) {
    auto r = run_process({LS_STATION_BINARY, "serve", "--port"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("needs a value"), std::string::npos) << r.err;
}

TEST(Cli, BadConfigNamesFileAndField) {
    TempDir dir;
    auto cfg = (dir / "station.json").string();
    {
        std::ofstream(cfg) << R"({"http": {"port": "eighty"}})";
    }
    auto r = run_process({LS_STATION_BINARY, "serve", "--config", cfg});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_NE(r.err.find(cfg + ": $.http.port: expected an integer"), std::string::npos) << r.err;
}

TEST(Cli, UserAddStoresAHashNeverThePassword) {
    TempDir dir;
    auto db = (dir / "s.db").string();
    auto r = run_process({LS_STATION_BINARY, "user", "add", "--login", "boss", "--role", "admin",
                          "--password-stdin", "--db", db},
                         "very-secret-pw\n");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.find("very-secret-pw"), std::string::npos);
    linestation::store::Store store(db);
    auto op = store.find_operator("boss");
    ASSERT_TRUE(op);
    EXPECT_EQ(op->role, "admin");
    EXPECT_TRUE(linestation::auth::verify_password("very-secret-pw", op->password_hash));
    EXPECT_EQ(store.audit_log(0).size(), 1u);

    auto dup = run_process({LS_STATION_BINARY, "user", "add", "--login", "boss", "--role", "admin",
                            "--password-stdin", "--db", db},
                           "another-pw-123\n");
    EXPECT_NE(dup.exit_code, 0);
    auto bad_role = run_process({LS_STATION_BINARY, "user", "add", "--login", "x", "--role", "root",
                                 "--password-stdin", "--db", db},
                                "another-pw-123\n");
    EXPECT_EQ(bad_role.exit_code, 2);
    auto short_pw = run_process({LS_STATION_BINARY, "user", "add", "--login", "y", "--role",
                                 "operator", "--password-stdin", "--db", db},
                                "short\n");
    EXPECT_NE(short_pw.exit_code, 0);
    EXPECT_FALSE(store.find_operator("y"));
}
