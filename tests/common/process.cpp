#include "tests/common/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

namespace linestation::testing {

namespace {
std::vector<char*> to_argv(const std::vector<std::string>& argv) {
    std::vector<char*> out;
    for (const auto& a : argv) out.push_back(const_cast<char*>(a.c_str()));
    out.push_back(nullptr);
    return out;
}

void read_all(int fd, std::string& into) {
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) into.append(buf, static_cast<size_t>(n));
}
}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input) {
    int in_pipe[2], out_pipe[2], err_pipe[2];
    if (pipe(in_pipe) || pipe(out_pipe) || pipe(err_pipe)) throw std::runtime_error("pipe");
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in_pipe[0], 0);
        dup2(out_pipe[1], 1);
        dup2(err_pipe[1], 2);
        close(in_pipe[1]);
        close(out_pipe[0]);
        close(err_pipe[0]);
        auto args = to_argv(argv);
        execv(args[0], args.data());
        _exit(127);
    }
    close(in_pipe[0]);
    close(out_pipe[1]);
    close(err_pipe[1]);
    if (!input.empty()) {
        auto written = write(in_pipe[1], input.data(), input.size());
        (void)written;
    }
    close(in_pipe[1]);
    ProcessResult result;
    std::thread err_reader([&] { read_all(err_pipe[0], result.err); });
    read_all(out_pipe[0], result.out);
    err_reader.join();
    close(out_pipe[0]);
    close(err_pipe[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv) {
    int out_pipe[2];
    if (pipe(out_pipe)) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
        dup2(out_pipe[1], 1);
        close(out_pipe[0]);
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, 0);
        auto args = to_argv(argv);
        execv(args[0], args.data());
        _exit(127);
    }
    close(out_pipe[1]);
    out_fd_ = out_pipe[0];
}

ChildProcess::~ChildProcess() {
    if (pid_ > 0) stop(SIGKILL);
    if (out_fd_ >= 0) close(out_fd_);
}

std::string ChildProcess::wait_for_line(const std::string& needle, double timeout_s) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (true) {
        std::size_t start = 0;
        for (std::size_t nl; (nl = buffer_.find('\n', start)) != std::string::npos; start = nl + 1) {
            auto line = buffer_.substr(start, nl - start);
            if (line.find(needle) != std::string::npos) {
                buffer_.erase(0, nl + 1);
                return line;
            }
        }
        buffer_.erase(0, start);
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return {};
        pollfd p{out_fd_, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
        char buf[4096];
        auto n = read(out_fd_, buf, sizeof buf);
        if (n <= 0) return {};
        buffer_.append(buf, static_cast<size_t>(n));
    }
}

int ChildProcess::stop(int signal) {
    if (pid_ <= 0) return -1;
    kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace linestation::testing
