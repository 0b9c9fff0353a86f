// RETURN_IF_ERROR / ASSIGN_OR_RETURN: Debian's Abseil 20220623 ships neither.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define FSCHED_CONCAT_INNER(a, b) a##b
#define FSCHED_CONCAT(a, b) FSCHED_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                        \
  do {                                               \
    ::absl::Status fsched_status_ = (expr);          \
    if (!fsched_status_.ok()) return fsched_status_; \
  } while (0)

#define FSCHED_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(*tmp)

#define ASSIGN_OR_RETURN(lhs, expr) \
  FSCHED_ASSIGN_OR_RETURN_IMPL(FSCHED_CONCAT(fsched_statusor_, __LINE__), lhs, expr)
