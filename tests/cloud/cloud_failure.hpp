#pragma once
// What a cloud call's CloudError says, for tests that expect the call to be refused.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "station/cloud/cloud.hpp"

namespace linestation::testing {

// The failure `action` threw (its text into `message`); a test failure when none was thrown.
inline cloud::CloudFailure failure_of(const std::function<void()>& action,
                                      std::string* message = nullptr) {
    try {
        action();
    } catch (const cloud::CloudError& e) {
        if (message) *message = e.what();
        return e.failure();
    }
    ADD_FAILURE() << "no CloudError thrown";
    return cloud::CloudFailure::Other;
}

}  // namespace linestation::testing
