// What the worker's own services (Worker, Admin) and its metrics read of the
// node they serve. WorkerNode implements it; tests can drive a service with a
// fake instead of a whole node.
#pragma once

#include <cstdint>
#include <string>

#include "fsched/v1/types.pb.h"
#include "fsched/v1/worker.pb.h"

namespace fsched::worker {

class WorkerState {
 public:
  virtual ~WorkerState() = default;
  /// The load now, the host sampled anew (the CPU share is since the previous sample).
  virtual v1::WorkerLoad Load() = 0;
  /// The load as last sampled for a heartbeat, with current calls: a metrics
  /// scrape must not move the heartbeat's CPU baseline.
  virtual v1::WorkerLoad ScrapeLoad() = 0;
  virtual uint32_t Slots() = 0;
  /// Calls accepted and waiting for a slot.
  virtual uint64_t Waiting() = 0;
  /// The master this worker joined ("" = none yet), and whether its stream is up.
  virtual std::string MasterAddress() = 0;
  virtual bool MasterConnected() = 0;
  /// Worker.GetStatus's answer.
  virtual void Status(v1::WorkerStatus* out) = 0;
};

}  // namespace fsched::worker
