// gRPC passes a call from the thread that starts it to the threads that run its reactions with
// synchronisation inside libgrpc, which ThreadSanitizer cannot see (Debian's gRPC and Abseil are
// not instrumented). handoff_release (before StartCall/StartRead) and handoff_acquire (first thing
// in a reaction) state that edge, so that TSan still checks our own data. No-ops without TSan.
#pragma once

#if defined(__SANITIZE_THREAD__)
#define REGISTRAR_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define REGISTRAR_TSAN 1
#endif
#endif

#ifdef REGISTRAR_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace registrar::probe {

#ifdef REGISTRAR_TSAN
inline void handoff_release(void* p) {
  __tsan_release(p);
}
inline void handoff_acquire(void* p) {
  __tsan_acquire(p);
}
#else
inline void handoff_release(void*) {}
inline void handoff_acquire(void*) {}
#endif

}  // namespace registrar::probe
