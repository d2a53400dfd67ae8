// Each fuzz target defines VIGIL_FUZZ_ENTRY: LLVMFuzzerTestOneInput in a
// fuzz build; a distinct name when tests/fuzz_replay includes the target to
// replay its saved corpus in ordinary (gcc, sanitizer or not) builds.
#pragma once
#include <cstddef>
#include <cstdint>

#ifndef VIGIL_FUZZ_ENTRY
#define VIGIL_FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif
