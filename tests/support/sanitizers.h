// Whether this test binary (and so the vigil binary built with it) runs under a sanitizer: their
// shadow memory and quarantine make peak RSS and speed no measure of the engine's.
#pragma once

// Not in namespace vigil: the hostile tests name their runner vigil().
namespace test_support {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

}  // namespace test_support
