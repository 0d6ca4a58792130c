#pragma once
// Cloud requests off the line's thread. A request can take its timeout three times over
// (retries), and while the line waits under its lock a reset relay stays pressed, LED
// observations queue up and the web API blocks. So the scheduler hands each request to a
// CloudCalls, which runs it elsewhere; what the request learnt comes back as a completion
// that the line runs at its next tick, under its own lock.
//
// Inline runs the request at once (virtual time: a simulated shift stays deterministic,
// and the completion still waits for the next tick as it would in real time); Background
// runs requests in order on one worker thread, a unit's before the sweep's.

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace linestation::flow {

class CloudCalls {
  public:
    using Completion = std::function<void()>;
    // Runs the request and returns what to do with its answer on the line's thread.
    using Request = std::function<Completion()>;

    // Whom a request is for. A unit in a slot waits on its answer for its verdict; the
    // sweep's checks of devices already let go can wait. Under the world's latency (answers
    // 50-3000 ms) the sweep's checks are most of the requests, and taken in turn they held a
    // unit's answer back past its flow's window (issue 11: 15-30 s behind).
    enum class Lane { Unit, Sweep };

    virtual ~CloudCalls() = default;
    virtual void submit(Lane lane, Request request) = 0;
    // Completions whose requests have finished, in the order they finished.
    std::vector<Completion> take_completed();
    // Requests submitted and not yet taken back as completions.
    int outstanding() const;
    // Requests submitted and not yet finished (a simulation on virtual time waits for them
    // before it moves the clock).
    int running() const;

  protected:
    void completed(Completion c);
    void submitted();

  private:
    mutable std::mutex mutex_;
    std::vector<Completion> done_;
    int outstanding_ = 0;
};

class InlineCloudCalls final : public CloudCalls {
  public:
    void submit(Lane lane, Request request) override;
};

class BackgroundCloudCalls final : public CloudCalls {
  public:
    BackgroundCloudCalls();
    // Waits for the request in flight (its own timeout bounds that); drops the queued ones.
    ~BackgroundCloudCalls() override;
    BackgroundCloudCalls(const BackgroundCloudCalls&) = delete;
    BackgroundCloudCalls& operator=(const BackgroundCloudCalls&) = delete;
    void submit(Lane lane, Request request) override;

  private:
    void run(std::stop_token stop);
    std::mutex queue_mutex_;
    std::condition_variable_any wake_;
    std::deque<Request> unit_queue_;
    std::deque<Request> sweep_queue_;
    std::jthread worker_;
};

std::unique_ptr<CloudCalls> make_cloud_calls(bool background);

}  // namespace linestation::flow
