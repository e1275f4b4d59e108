// Binary size units, the project's vocabulary (namespace phaze, like everything in base/).
//
//   const int64_t hbm_bytes = 80 * kGiB;
#ifndef PHAZE_COMMON_BASE_UNITS_H_
#define PHAZE_COMMON_BASE_UNITS_H_

#include <cstdint>

namespace phaze {

inline constexpr int64_t kKiB = 1024;
inline constexpr int64_t kMiB = 1024 * kKiB;
inline constexpr int64_t kGiB = 1024 * kMiB;

}  // namespace phaze

#endif  // PHAZE_COMMON_BASE_UNITS_H_
