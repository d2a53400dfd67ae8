// core/ordered_pipeline.h: outputs are consumed in submission order for any worker count, also the
// parts a batch hands on early (consume_early) while it is still being worked on.
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/ordered_pipeline.h"

namespace vigil {
namespace {

struct PipelineJob {
  int n = 0;
};
using PipelinePart = std::vector<int>;

// Batch n hands on n*10 early (waiting for its turn) and tries n*10+1 (only if it is its turn
// already, else it goes with the output), then outputs n*10+2 (with n*10+1 when that was not taken).
// The work takes a random while, so batches finish out of order with two or more workers.
std::vector<int> run_pipeline(unsigned workers, int batches) {
  std::vector<int> seen;
  OrderedPipeline<PipelineJob, PipelinePart>* self = nullptr;
  OrderedPipeline<PipelineJob, PipelinePart> pipe(
      workers,
      [&](PipelineJob& j, unsigned id) {
        thread_local std::mt19937 rng(1234 + id);
        auto nap = [&] { std::this_thread::sleep_for(std::chrono::microseconds(rng() % 300)); };
        nap();
        PipelinePart first{j.n * 10};
        self->consume_early(first, true);
        nap();
        PipelinePart second{j.n * 10 + 1};
        const bool taken = self->consume_early(second, false);
        nap();
        if (!taken) return PipelinePart{j.n * 10 + 1, j.n * 10 + 2};
        return PipelinePart{j.n * 10 + 2};
      },
      [&](PipelinePart&& p) { seen.insert(seen.end(), p.begin(), p.end()); }, 0,
      OrderedPipeline<PipelineJob, PipelinePart>::ConsumeOn::workers);
  self = &pipe;
  for (int n = 0; n < batches; ++n) {
    auto b = pipe.take_empty();
    b->n = n;
    pipe.submit(std::move(b));
  }
  pipe.finish();
  return seen;
}

TEST(OrderedPipeline, EarlyPartsAndOutputsAreConsumedInSubmissionOrder) {
  std::vector<int> expected;
  for (int n = 0; n < 300; ++n)
    for (int k = 0; k < 3; ++k) expected.push_back(n * 10 + k);
  for (unsigned workers : {0u, 1u, 2u, 4u}) {
    SCOPED_TRACE(std::to_string(workers) + " workers");
    EXPECT_EQ(run_pipeline(workers, 300), expected);
  }
}

// A batch whose work throws while later ones wait in consume_early for their turn: the run ends
// with the error (finish rethrows it), and nothing waits for ever.
TEST(OrderedPipeline, AnErrorWhileOthersWaitForTheirTurnEndsTheRun) {
  for (unsigned workers : {2u, 4u}) {
    SCOPED_TRACE(std::to_string(workers) + " workers");
    OrderedPipeline<PipelineJob, PipelinePart>* self = nullptr;
    OrderedPipeline<PipelineJob, PipelinePart> pipe(
        workers,
        [&](PipelineJob& j, unsigned) {
          if (j.n == 5) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));  // later batches wait first
            throw std::runtime_error("bad batch");
          }
          PipelinePart p{j.n};
          self->consume_early(p, true);
          return PipelinePart{};
        },
        [](PipelinePart&&) {}, 0, OrderedPipeline<PipelineJob, PipelinePart>::ConsumeOn::workers);
    self = &pipe;
    bool thrown = false;
    try {
      for (int n = 0; n < 40; ++n) {
        auto b = pipe.take_empty();
        b->n = n;
        pipe.submit(std::move(b));
      }
      pipe.finish();
    } catch (const std::runtime_error&) {
      thrown = true;
    }
    EXPECT_TRUE(thrown);
  }  // the destructor joins the workers: it must not hang either
}

}  // namespace
}  // namespace vigil
