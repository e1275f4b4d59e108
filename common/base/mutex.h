// phaze::MutexLock: absl::MutexLock, plus ThreadSanitizer happens-before annotations.
//
// Debian's Abseil is a prebuilt shared library without TSan instrumentation, so TSan cannot see
// absl::Mutex hand memory from one thread to the next and reports every guarded access as a race.
// In TSan builds this lock tells TSan what the mutex really guarantees (acquire after Lock,
// release before Unlock, and both around condition waits); elsewhere it is absl::MutexLock.
// Use it for every lock in Phaze, so that the TSan run checks our code and not Abseil's.
#ifndef PHAZE_COMMON_BASE_MUTEX_H_
#define PHAZE_COMMON_BASE_MUTEX_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

#if defined(__SANITIZE_THREAD__)
#define PHAZE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PHAZE_TSAN 1
#endif
#endif

#ifdef PHAZE_TSAN
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace phaze {

inline void TsanAcquire([[maybe_unused]] absl::Mutex* mu) {
#ifdef PHAZE_TSAN
  __tsan_acquire(mu);
#endif
}

inline void TsanRelease([[maybe_unused]] absl::Mutex* mu) {
#ifdef PHAZE_TSAN
  __tsan_release(mu);
#endif
}

class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(absl::Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->Lock();
    TsanAcquire(mu_);
  }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() {
    TsanRelease(mu_);
    mu_->Unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  absl::Mutex* const mu_;
};

// cv->WaitWithDeadline(mu, deadline) with the annotations above; `mu` must be held.
inline bool WaitWithDeadline(absl::CondVar* cv, absl::Mutex* mu, absl::Time deadline)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
  TsanRelease(mu);
  const bool timed_out = cv->WaitWithDeadline(mu, deadline);
  TsanAcquire(mu);
  return timed_out;
}

}  // namespace phaze

#endif  // PHAZE_COMMON_BASE_MUTEX_H_
