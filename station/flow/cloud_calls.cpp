#include "station/flow/cloud_calls.hpp"

namespace linestation::flow {

std::vector<CloudCalls::Completion> CloudCalls::take_completed() {
    std::lock_guard lock(mutex_);
    std::vector<Completion> out;
    out.swap(done_);
    outstanding_ -= static_cast<int>(out.size());
    return out;
}

int CloudCalls::outstanding() const {
    std::lock_guard lock(mutex_);
    return outstanding_;
}

int CloudCalls::running() const {
    std::lock_guard lock(mutex_);
    return outstanding_ - static_cast<int>(done_.size());
}

void CloudCalls::completed(Completion c) {
    std::lock_guard lock(mutex_);
    done_.push_back(std::move(c));
}

void CloudCalls::submitted() {
    std::lock_guard lock(mutex_);
    ++outstanding_;
}

namespace {
// A request that throws still comes back, so nobody waits for it forever; the
// scheduler's requests catch what they expect, this is for what they do not.
CloudCalls::Completion run_request(const CloudCalls::Request& request) {
    try {
        return request();
    } catch (...) {
        return {};
    }
}
}  // namespace

void InlineCloudCalls::submit(Lane, Request request) {
    submitted();
    completed(run_request(request));
}

BackgroundCloudCalls::BackgroundCloudCalls()
    : worker_([this](std::stop_token stop) { run(stop); }) {}

BackgroundCloudCalls::~BackgroundCloudCalls() {
    worker_.request_stop();
    wake_.notify_all();
}

void BackgroundCloudCalls::submit(Lane lane, Request request) {
    submitted();
    {
        std::lock_guard lock(queue_mutex_);
        (lane == Lane::Unit ? unit_queue_ : sweep_queue_).push_back(std::move(request));
    }
    wake_.notify_one();
}

void BackgroundCloudCalls::run(std::stop_token stop) {
    while (!stop.stop_requested()) {
        Request next;
        {
            std::unique_lock lock(queue_mutex_);
            if (!wake_.wait(lock, stop,
                            [&] { return !unit_queue_.empty() || !sweep_queue_.empty(); })) {
                return;
            }
            auto& queue = unit_queue_.empty() ? sweep_queue_ : unit_queue_;
            next = std::move(queue.front());
            queue.pop_front();
        }
        completed(run_request(next));
    }
}

std::unique_ptr<CloudCalls> make_cloud_calls(bool background) {
    if (background) return std::make_unique<BackgroundCloudCalls>();
    return std::make_unique<InlineCloudCalls>();
}

}  // namespace linestation::flow
