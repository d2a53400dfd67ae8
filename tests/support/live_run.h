// Runs the vigil binary with its stdin and stdout on pipes, for the tests of live input (`tail -f …
// | vigil VERB -`) and of what a run costs as a process. Every wait is bounded; the child is killed
// and reaped on the way out.
#pragma once
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace vigil::test {

class LiveRun {
 public:
  explicit LiveRun(const std::vector<std::string>& args) {
    std::signal(SIGPIPE, SIG_IGN);  // a child that died early fails the test, not the test binary
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0) return;
    if (::pipe2(out, O_CLOEXEC) != 0) {
      ::close(in[0]);
      ::close(in[1]);
      return;
    }
    const std::string bin = VIGIL_BINARY;
    std::vector<char*> argv{const_cast<char*>(bin.c_str())};
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      std::signal(SIGPIPE, SIG_DFL);  // vigil as a shell runs it
      ::dup2(in[0], 0);  // dup2's copies are not close-on-exec; the four originals are
      ::dup2(out[1], 1);
      ::execv(bin.c_str(), argv.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    in_ = in[1];
    out_ = out[0];
  }
  LiveRun(const LiveRun&) = delete;
  LiveRun& operator=(const LiveRun&) = delete;
  ~LiveRun() {
    close_input();
    if (out_ >= 0) ::close(out_);
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool started() const { return pid_ > 0 && in_ >= 0; }
  bool write(std::string_view s) { return in_ >= 0 && ::write(in_, s.data(), s.size()) == ssize_t(s.size()); }
  void close_input() {
    if (in_ >= 0) ::close(in_);
    in_ = -1;
  }
  /// What the child wrote within `ms`; stops early at the end of its output, and with `line` once a
  /// whole line has come.
  std::string read_for(int ms, bool line = false) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!(line && got_.find('\n') != std::string::npos)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      pollfd p{out_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, int(left.count())) != 1) break;
      char buf[4096];
      ssize_t n = ::read(out_, buf, sizeof buf);
      if (n <= 0) break;
      got_.append(buf, size_t(n));
    }
    return got_;
  }
  /// Reads the child's output to its end (within `ms`) without keeping it; returns how many bytes,
  /// and counts its line breaks into `lines` when given (with `csv`, only those outside quotes: the
  /// ends of CSV records).
  uint64_t drain(int ms, uint64_t* lines = nullptr, bool csv = false) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    uint64_t total = 0;
    hash_ = 14695981039346656037ull;
    bool quoted = false;
    std::vector<char> buf(1 << 16);
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      pollfd p{out_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, int(left.count())) != 1) break;
      ssize_t n = ::read(out_, buf.data(), buf.size());
      if (n <= 0) break;
      total += uint64_t(n);
      for (ssize_t i = 0; i < n; ++i) hash_ = (hash_ ^ uint8_t(buf[size_t(i)])) * 1099511628211ull;
      if (!lines) continue;
      if (!csv) {
        *lines += uint64_t(std::count(buf.data(), buf.data() + n, '\n'));
        continue;
      }
      for (ssize_t i = 0; i < n; ++i) {
        if (buf[size_t(i)] == '"') quoted = !quoted;  // "" inside a quoted cell flips twice
        else if (buf[size_t(i)] == '\n' && !quoted) ++*lines;
      }
    }
    return total;
  }
  /// The exit status once the child ended within `ms` (-1: it did not; it is killed on destruction).
  int wait_exit(int ms) {
    for (int waited = 0; waited <= ms; waited += 20) {
      int st = 0;
      if (::wait4(pid_, &st, WNOHANG, &usage_) == pid_) {
        pid_ = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }
  /// FNV-1a of what the last drain() read: two runs wrote the same bytes when these are equal.
  uint64_t drained_hash() const { return hash_; }
  /// The child's peak resident set in bytes, once wait_exit saw it end.
  uint64_t peak_rss() const { return uint64_t(usage_.ru_maxrss) * 1024; }

 private:
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1;
  std::string got_;
  uint64_t hash_ = 0;
  rusage usage_{};
};

}  // namespace vigil::test
