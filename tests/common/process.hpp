#pragma once
// Runs the station executable (or any program) as a child process for end-to-end tests.

#include <string>
#include <vector>

namespace linestation::testing {

struct ProcessResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};

// Runs `argv` to completion, feeding `input` to its standard input.
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input = "");

// A child left running (a server); killed with SIGTERM on destruction.
class ChildProcess {
public:
    explicit ChildProcess(const std::vector<std::string>& argv);
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    // Reads stdout until a line contains `needle` or `timeout_s` passes; returns the line.
    std::string wait_for_line(const std::string& needle, double timeout_s);
    // SIGTERM (or `signal`), then the exit status.
    int stop(int signal = 15);
    int pid() const { return pid_; }

private:
    int pid_ = -1;
    int out_fd_ = -1;
    std::string buffer_;
};

}  // namespace linestation::testing
