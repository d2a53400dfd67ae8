// The live progress line on stderr: phase, files, events, findings so far and
// elapsed time, redrawn by a small thread a few times a second while the verb
// works (so it moves during rule loading too, when nothing reports counts).
//
// Only on a terminal and without --quiet: a pipe or a file never receives it.
// It is one line, rewritten in place; anything else printed to stderr (a
// diagnostic) or to the same terminal on stdout clears it first, so it never
// shares a line with other text. stop() clears it for good.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace vigil::cli {

class Progress {
 public:
  /// Active only when `enabled` and stderr is a terminal.
  explicit Progress(bool enabled);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  bool active() const { return active_; }
  /// "loading rules", "reading", "evaluating", "writing", …; the line shows it first.
  void phase(const char* name);
  void add_file() { files_.fetch_add(1, std::memory_order_relaxed); }
  void add_event() { events_.fetch_add(1, std::memory_order_relaxed); }
  void add_finding() { findings_.fetch_add(1, std::memory_order_relaxed); }
  void bytes(uint64_t done, uint64_t total) {
    bytes_done_.store(done, std::memory_order_relaxed);
    bytes_total_.store(total, std::memory_order_relaxed);
  }
  /// A per-verb count shown after the phase (e.g. rules tested), with its noun.
  void items(uint64_t done, uint64_t total, const char* noun);
  /// Clears the line now (before other output); the next tick redraws it.
  void clear();
  /// Clears the line and ends the thread; nothing is drawn afterwards.
  void stop();
  /// The line as it would be drawn now (tests, and the thread).
  std::string line() const;

 private:
  void run();
  bool active_ = false;
  std::chrono::steady_clock::time_point start_;
  std::atomic<const char*> phase_{"starting"};
  std::atomic<const char*> noun_{nullptr};
  std::atomic<uint64_t> files_{0}, events_{0}, findings_{0}, bytes_done_{0}, bytes_total_{0}, items_{0},
      items_total_{0};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool drawn_ = false;
  bool phase_changed_ = false;  // a new phase is drawn at once (a short one would fall between ticks)
  std::thread thread_;
};

}  // namespace vigil::cli
