// The clock the services hand to the core (eval::Evaluator::SetClock): the core reads none of
// its own, so its results never depend on time.
#ifndef PHAZE_COMMON_RPC_CLOCK_H_
#define PHAZE_COMMON_RPC_CLOCK_H_

#include <chrono>

namespace phaze {

// Seconds since an arbitrary fixed point, monotonic.
inline double MonotonicSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace phaze

#endif  // PHAZE_COMMON_RPC_CLOCK_H_
