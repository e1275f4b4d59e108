// Status propagation helpers (Abseil 20220623 ships none).
//
//   PHAZE_RETURN_IF_ERROR(Validate(spec));
//   PHAZE_ASSIGN_OR_RETURN(ModelSpec model, FindModel("gpt2"));
#ifndef PHAZE_COMMON_BASE_STATUS_MACROS_H_
#define PHAZE_COMMON_BASE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define PHAZE_STATUS_CONCAT_INNER_(a, b) a##b
#define PHAZE_STATUS_CONCAT_(a, b) PHAZE_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status) and returns it from the enclosing function if not OK.
#define PHAZE_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::absl::Status phaze_status_ = (expr);         \
    if (!phaze_status_.ok()) return phaze_status_; \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status, otherwise moves the value
// into `lhs` (which may be a declaration).
#define PHAZE_ASSIGN_OR_RETURN(lhs, rexpr) \
  PHAZE_ASSIGN_OR_RETURN_IMPL_(PHAZE_STATUS_CONCAT_(phaze_statusor_, __LINE__), lhs, rexpr)

#define PHAZE_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = *std::move(statusor)

#endif  // PHAZE_COMMON_BASE_STATUS_MACROS_H_
