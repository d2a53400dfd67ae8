// An ordered parallel pipeline: a producer fills batches, worker threads turn
// each batch into an output, and the outputs are consumed on the producer's
// thread strictly in submission order. So whatever the thread count, what the
// consumer sees (findings, rendered records, merged states) is the same, and
// memory is bounded by the number of batches in flight.
//
// With 0 workers everything runs inline on the calling thread (same order).
//
// ConsumeOn::workers: outputs are consumed by whichever worker finishes the
// next one in order (one consumer at a time, still strictly in order), so a
// heavy consume step (the engine's merge of partial states and its findings)
// does not serialise behind the producer's own work (reading, decoding). The
// consume function must then not touch what the producer uses unguarded.
#pragma once
#include <cassert>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace vigil {

template <class Batch, class Out>
class OrderedPipeline {
 public:
  using Work = std::function<Out(Batch&, unsigned worker)>;
  using Consume = std::function<void(Out&&)>;
  enum class ConsumeOn { producer, workers };

  OrderedPipeline(unsigned workers, Work work, Consume consume, size_t max_in_flight = 0,
                  ConsumeOn consume_on = ConsumeOn::producer)
      : work_(std::move(work)), consume_(std::move(consume)),
        max_in_flight_(max_in_flight ? max_in_flight : size_t(workers) * 3 + 1),
        consume_on_workers_(consume_on == ConsumeOn::workers) {
    for (unsigned i = 0; i < workers; ++i) threads_.emplace_back([this, i] { loop(i); });
  }
  ~OrderedPipeline() { stop(); }
  OrderedPipeline(const OrderedPipeline&) = delete;
  OrderedPipeline& operator=(const OrderedPipeline&) = delete;

  /// A batch to fill: a recycled one (its capacity kept) or a new one. The caller clears it.
  std::unique_ptr<Batch> take_empty() {
    std::lock_guard lock(mu_);
    if (free_.empty()) return std::make_unique<Batch>();
    auto b = std::move(free_.back());
    free_.pop_back();
    return b;
  }

  /// Hands a batch on; blocks while too many are in flight, consuming finished outputs meanwhile.
  void submit(std::unique_ptr<Batch> b) {
    if (threads_.empty()) {
      Out o = work_(*b, 0);
      consume_(std::move(o));
      std::lock_guard lock(mu_);
      free_.push_back(std::move(b));
      return;
    }
    std::unique_lock lock(mu_);
    todo_.emplace_back(next_seq_++, std::move(b));
    ++in_flight_;
    work_cv_.notify_one();
    drain(lock, max_in_flight_);
  }

  /// Called from inside Work, with ConsumeOn::workers (or no workers): consumes `part`, a first part
  /// of the output of the batch being worked on, once every batch before it has been consumed. So a
  /// batch whose output grows large (a unit of input where most events are findings) can hand it on
  /// instead of holding it to its end; its remaining output is consumed after it as usual.
  /// `wait`: wait for that turn (a worker that waits takes no more work, which bounds what the others
  /// hold); otherwise only consume if it is the turn now. True when `part` was consumed.
  bool consume_early(Out& part, bool wait) {
    if (threads_.empty()) {  // inline: every batch before this one is consumed already
      consume_(std::move(part));
      return true;
    }
    // Producer mode would need the producer to consume the batches before this one, and it may
    // have stopped (an error): only workers consume here.
    assert(consume_on_workers_ && working_on_.owner == this);
    std::unique_lock lock(mu_);
    const uint64_t seq = working_on_.seq;
    auto turn = [&] { return next_consume_ == seq && !consuming_; };
    if (!wait && !turn()) return false;
    done_cv_.wait(lock, turn);  // the batches before it are worked on and consumed by the workers
    consuming_ = true;
    consume_unlocked(lock, std::move(part));
    consuming_ = false;
    lock.unlock();
    done_cv_.notify_all();
    return true;
  }

  /// Waits for every batch submitted so far and consumes its output; more may be submitted after.
  void finish_pending() {
    if (threads_.empty()) return;
    std::unique_lock lock(mu_);
    drain(lock, 1);
  }

  /// Waits for every batch and consumes the remaining outputs.
  void finish() {
    if (threads_.empty()) return;
    std::unique_lock lock(mu_);
    drain(lock, 1);
    lock.unlock();
    stop();
  }

 private:
  // Consumes outputs in order until fewer than `limit` batches are in flight.
  void drain(std::unique_lock<std::mutex>& lock, size_t limit) {
    for (;;) {
      if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
      if (!consuming_ && consume_ready(lock)) continue;
      if (in_flight_ < limit) return;
      done_cv_.wait(lock);
    }
  }

  // Runs consume_ on `o` without the lock (held again on return); what it throws is the run's error.
  void consume_unlocked(std::unique_lock<std::mutex>& lock, Out&& o) {
    lock.unlock();
    try {
      consume_(std::move(o));
    } catch (...) {
      lock.lock();
      if (!error_) error_ = std::current_exception();
      return;
    }
    lock.lock();
  }

  // Consumes every output that is ready in order; one consumer at a time. False when none was.
  bool consume_ready(std::unique_lock<std::mutex>& lock) {
    bool any = false;
    consuming_ = true;
    for (auto it = done_.find(next_consume_); it != done_.end(); it = done_.find(next_consume_)) {
      Out o = std::move(it->second);
      done_.erase(it);
      consume_unlocked(lock, std::move(o));
      ++next_consume_;
      --in_flight_;
      any = true;
    }
    consuming_ = false;
    if (any) done_cv_.notify_all();
    return any;
  }

  void loop(unsigned id) {
    for (;;) {
      std::pair<uint64_t, std::unique_ptr<Batch>> job;
      {
        std::unique_lock lock(mu_);
        work_cv_.wait(lock, [&] { return stopping_ || !todo_.empty(); });
        if (todo_.empty()) return;
        job = std::move(todo_.front());
        todo_.erase(todo_.begin());
      }
      Out o{};
      working_on_ = {this, job.first};
      try {
        o = work_(*job.second, id);
      } catch (...) {
        std::lock_guard lock(mu_);
        if (!error_) error_ = std::current_exception();
      }
      {
        std::unique_lock lock(mu_);
        done_.emplace(job.first, std::move(o));
        free_.push_back(std::move(job.second));
        if (consume_on_workers_ && !consuming_) consume_ready(lock);
      }
      done_cv_.notify_all();
    }
  }

  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    work_cv_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  Work work_;
  Consume consume_;
  size_t max_in_flight_;
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::vector<std::pair<uint64_t, std::unique_ptr<Batch>>> todo_;
  std::map<uint64_t, Out> done_;
  std::vector<std::unique_ptr<Batch>> free_;
  std::vector<std::thread> threads_;
  uint64_t next_seq_ = 0, next_consume_ = 0;
  size_t in_flight_ = 0;
  bool stopping_ = false;
  bool consume_on_workers_ = false;
  bool consuming_ = false;  // some thread is running consume_ (outputs stay in order)
  struct WorkingOn {
    const OrderedPipeline* owner = nullptr;
    uint64_t seq = 0;
  };
  static inline thread_local WorkingOn working_on_;  // a worker's pipeline and batch (consume_early)
  std::exception_ptr error_;
};

}  // namespace vigil
