// fsched-sim's output: a fixed-width table for people, JSON for machines.
#pragma once

#include <string>
#include <vector>

#include "tools/fsched-sim/simulator.h"

namespace fsched::sim {

struct RunRecord {
  std::string workload;       // trace name
  double target_utilisation;  // 0 = the trace's own load, unscaled
  double time_scale;          // arrival times were multiplied by this
  uint32_t workers;
  uint32_t slots;
  bool oracle;
  double cold_start_seconds;
  SimulationResult result;
};

std::string FormatTable(const std::vector<RunRecord>& runs);
std::string FormatJson(const std::vector<RunRecord>& runs);

}  // namespace fsched::sim
