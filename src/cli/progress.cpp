#include "cli/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace vigil::cli {

Progress::Progress(bool enabled) : start_(std::chrono::steady_clock::now()) {
  active_ = enabled && isatty(fileno(stderr));
  if (active_) thread_ = std::thread([this] { run(); });
}

Progress::~Progress() { stop(); }

void Progress::phase(const char* name) {
  if (phase_.exchange(name, std::memory_order_relaxed) == name || !active_) return;
  {
    std::lock_guard lock(mu_);
    phase_changed_ = true;
  }
  cv_.notify_all();
}

void Progress::items(uint64_t done, uint64_t total, const char* noun) {
  items_.store(done, std::memory_order_relaxed);
  items_total_.store(total, std::memory_order_relaxed);
  noun_.store(noun, std::memory_order_relaxed);
}

static std::string human(uint64_t n) {
  if (n >= 10'000'000) return fmt::format("{:.1f}M", n / 1e6);
  if (n >= 100'000) return fmt::format("{:.0f}k", n / 1e3);
  return std::to_string(n);
}

std::string Progress::line() const {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::string s = fmt::format("[{}]", phase_.load(std::memory_order_relaxed));
  if (const char* noun = noun_.load(std::memory_order_relaxed)) {
    uint64_t t = items_total_.load(std::memory_order_relaxed);
    s += t ? fmt::format(" {} {}/{}", noun, items_.load(), t) : fmt::format(" {} {}", noun, items_.load());
  }
  uint64_t files = files_.load(std::memory_order_relaxed), events = events_.load(std::memory_order_relaxed);
  if (files || events) s += fmt::format(" files {} · events {}", files, human(events));
  // Bytes only when nothing counts records (dump, coverage): the reader's totals grow as
  // directories are walked, so a percentage would mislead.
  if (!files && !events)
    if (uint64_t done = bytes_done_.load(std::memory_order_relaxed)) s += fmt::format(" {:.1f} MB read", done / 1e6);
  if (uint64_t f = findings_.load(std::memory_order_relaxed)) s += fmt::format(" · findings {}", human(f));
  s += fmt::format(" · {:.0f}s", secs);
  return s;
}

void Progress::clear() {
  std::lock_guard lock(mu_);
  if (drawn_) {
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
    drawn_ = false;
  }
}

void Progress::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  clear();
}

void Progress::run() {
  std::unique_lock lock(mu_);
  // The first draw waits a little: a verb that ends at once leaves no trace.
  auto wait = std::chrono::milliseconds(300);
  for (;;) {
    // Once the line is up, a phase change redraws it at once; else every 250 ms.
    cv_.wait_for(lock, wait, [this] { return stopping_ || (drawn_ && phase_changed_); });
    if (stopping_) break;
    phase_changed_ = false;
    std::string s = line();
    // A wrapped line could not be rewritten in place: keep it inside the terminal's width.
    winsize ws{};
    if (ioctl(fileno(stderr), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10 && s.size() >= ws.ws_col) {
      size_t cut = ws.ws_col - 1;
      while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
      s.resize(cut);
    }
    std::fprintf(stderr, "\r\033[K%s", s.c_str());
    std::fflush(stderr);
    drawn_ = true;
    wait = std::chrono::milliseconds(250);
  }
}

}  // namespace vigil::cli
