// What comes back from the cloud endpoint (or whoever answers in its place): every body is
// read by each call's reading, and is a result or a CloudError; nothing else escapes.
#include <string>

#include "station/cloud/answers.hpp"
#include "tests/fuzz/fuzz_input.hpp"

namespace {

template <typename Read>
void expect_result_or_cloud_error(Read read) {
    try {
        read();
    } catch (const linestation::cloud::CloudError& e) {
        if (std::string(e.what()).empty()) {
            linestation::fuzz::broken("cloud_answers", "a CloudError without a message");
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace linestation::cloud;
    const std::string body(reinterpret_cast<const char*>(data), size);
    constexpr std::int64_t kSentMs = 1700000000000;
    expect_result_or_cloud_error([&] {
        auto answer = answer_object(200, body, "GET /fuzz");
        expect_result_or_cloud_error([&] { (void)token_grant(*answer, "access token", kSentMs); });
        if (!answer_succeeded(*answer)) {
            const auto error = error_from(*answer, "fuzz", kSentMs);
            if (error.code() != answer_code(*answer)) {
                linestation::fuzz::broken("cloud_answers", "a refusal that loses the cloud's code");
            }
            return;
        }
        const auto result = answer->get("result");
        expect_result_or_cloud_error([&] { (void)pairing_token_from(result); });
        expect_result_or_cloud_error([&] { (void)token_devices_from(result, false); });
        expect_result_or_cloud_error([&] { (void)token_devices_from(result, true); });
        expect_result_or_cloud_error([&] { (void)device_removed(result); });
        expect_result_or_cloud_error([&] { (void)device_details_from(result, "fuzz-device"); });
        expect_result_or_cloud_error([&] { (void)factory_infos_from(result); });
    });
    return 0;
}
