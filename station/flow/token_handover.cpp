#include "station/flow/token_handover.hpp"

namespace linestation::flow {

TokenHandovers::TokenHandovers(const config::WiredHandoverConfig& config, bool background)
    : lan_(drivers::LanHandoverSettings{config.port, config.timeout_ms}),
      calls_(make_cloud_calls(background)) {}

void TokenHandovers::hand_over(const std::string& ip,
                               drivers::lan_handover::HandoverRequest request, Done done) {
    calls_->submit(CloudCalls::Lane::Unit,
                   [lan = &lan_, ip, request = std::move(request),
                    done = std::move(done)]() mutable -> CloudCalls::Completion {
                       auto outcome = lan->hand_over(ip, request);
                       return [done = std::move(done), outcome] { done(outcome); };
                   });
}

void TokenHandovers::tick() {
    for (auto& completed : calls_->take_completed()) {
        if (completed) completed();
    }
}

}  // namespace linestation::flow
