#include <gtest/gtest.h>

#include "station/auth/password.hpp"

using namespace linestation::auth;

TEST(Password, HashVerifiesOnlyTheRightPassword) {
    auto hash = hash_password("correct horse", 2000);
    EXPECT_EQ(hash.rfind("pbkdf2-sha256$2000$", 0), 0u);
    EXPECT_EQ(hash.find("correct horse"), std::string::npos);
    EXPECT_TRUE(verify_password("correct horse", hash));
    EXPECT_FALSE(verify_password("correct horsE", hash));
    EXPECT_FALSE(verify_password("", hash));
}

TEST(Password, SaltMakesEveryHashDifferent) {
    EXPECT_NE(hash_password("same", 2000), hash_password("same", 2000));
}

TEST(Password, MalformedStoredHashNeverVerifies) {
    EXPECT_FALSE(verify_password("x", ""));
    EXPECT_FALSE(verify_password("x", "plain"));
    EXPECT_FALSE(verify_password("x", "pbkdf2-sha256$abc$$"));
    EXPECT_FALSE(verify_password("x", "pbkdf2-sha256$1$AAAA$AAAA"));
}
