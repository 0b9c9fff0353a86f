// fschedctl's flags, defined in flags.cc and read by the command groups.
#pragma once

#include <string>
#include <vector>

#include "absl/flags/declare.h"

ABSL_DECLARE_FLAG(std::string, config);
ABSL_DECLARE_FLAG(std::string, master);
ABSL_DECLARE_FLAG(std::string, role);
ABSL_DECLARE_FLAG(double, rate);
ABSL_DECLARE_FLAG(int, burst);
ABSL_DECLARE_FLAG(int, max_concurrency);
ABSL_DECLARE_FLAG(bool, json);
ABSL_DECLARE_FLAG(std::string, rpc_timeout);
ABSL_DECLARE_FLAG(std::string, payload);
ABSL_DECLARE_FLAG(std::string, payload_file);
ABSL_DECLARE_FLAG(std::string, timeout);
ABSL_DECLARE_FLAG(std::vector<std::string>, env);
ABSL_DECLARE_FLAG(std::string, workdir);
ABSL_DECLARE_FLAG(std::string, description);
ABSL_DECLARE_FLAG(bool, replace);
ABSL_DECLARE_FLAG(bool, force);
ABSL_DECLARE_FLAG(std::string, queue_order);
ABSL_DECLARE_FLAG(std::string, placement);
ABSL_DECLARE_FLAG(std::string, output_limit);
ABSL_DECLARE_FLAG(std::string, rootfs);
ABSL_DECLARE_FLAG(std::string, image);
ABSL_DECLARE_FLAG(std::string, runtime);
ABSL_DECLARE_FLAG(std::string, memory);
ABSL_DECLARE_FLAG(double, cpus);
ABSL_DECLARE_FLAG(std::string, keep_alive);
ABSL_DECLARE_FLAG(int, max_instances);
ABSL_DECLARE_FLAG(int, prewarmed);
ABSL_DECLARE_FLAG(bool, network);
ABSL_DECLARE_FLAG(int, cache_ways);
ABSL_DECLARE_FLAG(double, size);
ABSL_DECLARE_FLAG(std::string, soft_d2f);
ABSL_DECLARE_FLAG(std::string, hard_d2f);
ABSL_DECLARE_FLAG(std::string, soft_f2c);
ABSL_DECLARE_FLAG(std::string, hard_f2c);
ABSL_DECLARE_FLAG(std::string, min_samples);
ABSL_DECLARE_FLAG(std::string, sample_interval);
ABSL_DECLARE_FLAG(std::string, offload_load_threshold);
ABSL_DECLARE_FLAG(int, max_ways);
ABSL_DECLARE_FLAG(std::string, worker);
