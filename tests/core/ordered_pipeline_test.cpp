// core/ordered_pipeline.h: outputs are consumed in submission order for any worker count, also the
// parts a batch hands on early (consume_early) while it is still being worked on.
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include "core/ordered_pipeline.h"

namespace vigil {
namespace {

struct PipelineJob {
  int n = 0;
};
using PipelinePart = std::vector<int>;

// Batch n consumes n*10 and n*10+1 early, then outputs n*10+2; the work takes a random while
// (seeded), so batches finish out of order with two or more workers.
std::vector<int> run_pipeline(unsigned workers, OrderedPipeline<PipelineJob, PipelinePart>::ConsumeOn on, int batches) {
  std::vector<int> seen;
  OrderedPipeline<PipelineJob, PipelinePart>* self = nullptr;
  OrderedPipeline<PipelineJob, PipelinePart> pipe(
      workers,
      [&](PipelineJob& j, unsigned id) {
        thread_local std::mt19937 rng(1234 + id);
        auto nap = [&] { std::this_thread::sleep_for(std::chrono::microseconds(rng() % 300)); };
        nap();
        self->consume_early(PipelinePart{j.n * 10});
        nap();
        self->consume_early(PipelinePart{j.n * 10 + 1});
        nap();
        return PipelinePart{j.n * 10 + 2};
      },
      [&](PipelinePart&& p) { seen.insert(seen.end(), p.begin(), p.end()); }, 0, on);
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
  using On = OrderedPipeline<PipelineJob, PipelinePart>::ConsumeOn;
  for (unsigned workers : {0u, 1u, 2u, 4u})
    for (On on : {On::producer, On::workers}) {
      SCOPED_TRACE(std::to_string(workers) + (on == On::workers ? " workers, consumed on workers" : " workers"));
      EXPECT_EQ(run_pipeline(workers, on, 300), expected);
    }
}

}  // namespace
}  // namespace vigil
