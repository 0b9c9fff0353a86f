// Sees every finished invocation: the master's invocation table and the
// worker's executor tell it (their metrics implement it).
#pragma once

#include "fsched/v1/types.pb.h"

namespace fsched {

class ResultObserver {
 public:
  virtual ~ResultObserver() = default;
  /// Called once per finished invocation (or execution, on a worker), on the
  /// thread that finished it; must not block.
  virtual void OnResult(const v1::InvocationResult& result) = 0;
};

}  // namespace fsched
