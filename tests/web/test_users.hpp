#pragma once
// Dashboard accounts for API tests, stored as `station user add` stores them.

#include <string>
#include <vector>

#include "station/auth/password.hpp"
#include "station/store/store.hpp"

namespace linestation::testing {

inline void add_test_user(store::Store& store, const std::string& login, const std::string& role,
                          std::vector<std::string> products, const std::string& password) {
    store::OperatorRecord op;
    op.login = login;
    op.role = role;
    op.products = std::move(products);
    // Few iterations keep the tests fast; verification reads the count from the hash.
    op.password_hash = auth::hash_password(password, 1000);
    store.add_operator(op);
}

}  // namespace linestation::testing
