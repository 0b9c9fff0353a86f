// fsched-bench: drives an fsched master and records every invocation.
// Closed loop: C concurrent clients, N requests in all. Open loop: Poisson
// arrivals at each rate of --rates for --duration, sent asynchronously on
// schedule whatever the responses do. Writes a per-invocation CSV, a text
// summary and a JSON summary.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/proto_time.h"
#include "common/quantiles.h"
#include "common/rpc.h"
#include "fsched/v1/controller.grpc.pb.h"
#include "tools/fsched-bench/arrivals.h"

ABSL_FLAG(std::string, master, "127.0.0.1:50051", "master address host:port");
ABSL_FLAG(std::string, function, "", "function to invoke (required)");
ABSL_FLAG(int, requests, 100, "invocations in total");
ABSL_FLAG(int, concurrency, 4, "concurrent closed-loop clients");
ABSL_FLAG(std::string, payload, "", "payload for each invocation ({i} is replaced by its index)");
ABSL_FLAG(std::string, out, "", "results directory (CSV + summaries); empty = print only");
ABSL_FLAG(std::string, label, "", "label written into the results (default: the mode)");
ABSL_FLAG(std::string, rates, "",
          "open loop: Poisson arrival rates in requests/s, one level each, e.g. 2,5,15");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(30), "open loop: length of each level");
ABSL_FLAG(uint64_t, seed, 1, "open loop: seed of the arrival schedule");
ABSL_FLAG(absl::Duration, max_lag, absl::Milliseconds(10),
          "open loop: a send later than this behind schedule counts as the driver falling behind");

namespace {

using namespace fsched;

struct Sample {
  int index = 0;
  double level_rps = 0;  // open loop: the level's rate; 0 = closed loop
  absl::Time scheduled;  // open loop: when it should have been sent
  absl::Time sent;
  double client_latency = 0;  // seconds, measured here
  grpc::StatusCode rpc = grpc::StatusCode::OK;
  std::string rpc_message;
  v1::InvocationResult result;
};

std::string Payload(const std::string& pattern, int i) {
  std::string out = pattern;
  const size_t at = out.find("{i}");
  if (at != std::string::npos) out.replace(at, 3, std::to_string(i));
  return out;
}

std::string CsvEscape(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

void WriteCsv(const std::string& path, const std::vector<Sample>& samples) {
  std::ofstream out(path);
  out << "index,sent_unix_s,function,invocation_id,worker,zone,mode,queue_order,placement,"
         "outcome,exit_code,attempts,queue_wait_s,cold_start_s,execution_s,total_s,"
         "client_latency_s,cpu_percent_at_dispatch,memory_percent_at_dispatch,rpc_status,"
         "level_rps,send_lag_s\n";
  for (const Sample& s : samples) {
    const v1::InvocationResult& r = s.result;
    out << s.index << ","
        << absl::StrFormat("%.6f", absl::ToDoubleSeconds(s.sent - absl::UnixEpoch())) << ","
        << CsvEscape(r.function()) << "," << r.invocation_id() << "," << CsvEscape(r.worker_id())
        << "," << CsvEscape(r.zone()) << "," << v1::ExecutionMode_Name(r.mode()) << ","
        << r.queue_order() << "," << r.placement_policy() << "," << v1::Outcome_Name(r.outcome())
        << "," << r.exit_code() << "," << r.attempts() << ","
        << absl::StrFormat("%.6f,%.6f,%.6f,%.6f,%.6f,%.1f,%.1f",
                           ToSeconds(r.timings().queue_wait()), ToSeconds(r.timings().cold_start()),
                           ToSeconds(r.timings().execution()), ToSeconds(r.timings().total()),
                           s.client_latency, r.cpu_percent_at_dispatch(),
                           r.memory_percent_at_dispatch())
        << "," << static_cast<int>(s.rpc) << "," << s.level_rps << ","
        << absl::StrFormat("%.6f",
                           s.level_rps > 0 ? absl::ToDoubleSeconds(s.sent - s.scheduled) : 0.0)
        << "\n";
  }
}

struct Outcome {
  int succeeded = 0;
  int rpc_failed = 0;
  std::string summary;  // human-readable block
  std::string json;     // one JSON object
};

// Summarises one load level (or the whole closed-loop run).
Outcome SummarizeLevel(const std::string& label, const std::string& function,
                       const std::vector<Sample>& samples, double elapsed,
                       const std::string& shape) {
  std::vector<double> latencies, totals;
  Outcome out;
  std::map<std::string, int> per_worker;
  std::string first_error;
  for (const Sample& s : samples) {
    if (s.rpc != grpc::StatusCode::OK) {
      ++out.rpc_failed;
      if (first_error.empty()) first_error = s.rpc_message;
      continue;
    }
    latencies.push_back(s.client_latency);
    totals.push_back(ToSeconds(s.result.timings().total()));
    ++per_worker[s.result.worker_id()];
    if (s.result.outcome() == v1::OUTCOME_OK) {
      ++out.succeeded;
    } else if (first_error.empty()) {
      first_error = absl::StrCat(v1::Outcome_Name(s.result.outcome()), ": ", s.result.message());
    }
  }
  const int n = static_cast<int>(samples.size());
  const Summary client = Summarize(latencies);
  const Summary server = Summarize(totals);
  std::string workers;
  for (const auto& [w, count] : per_worker) {
    absl::StrAppend(&workers, workers.empty() ? "" : ", ", w, "=", count);
  }
  out.summary = absl::StrFormat(
      "%s: %d invocations of %s, %s, %.2f s, %.1f req/s\n"
      "  succeeded %d, function failed %d, rpc failed %d\n"
      "  per worker: %s\n"
      "  client latency  mean %.2f ms  p50 %.2f ms  p90 %.2f ms  p95 %.2f ms  p99 %.2f ms  max "
      "%.2f ms\n"
      "  master total    mean %.2f ms  p50 %.2f ms  p90 %.2f ms  p95 %.2f ms  p99 %.2f ms  max "
      "%.2f ms\n",
      label, n, function, shape, elapsed, elapsed > 0 ? n / elapsed : 0.0, out.succeeded,
      n - out.succeeded - out.rpc_failed, out.rpc_failed, workers, client.mean * 1e3,
      client.p50 * 1e3, client.p90 * 1e3, client.p95 * 1e3, client.p99 * 1e3, client.max * 1e3,
      server.mean * 1e3, server.p50 * 1e3, server.p90 * 1e3, server.p95 * 1e3, server.p99 * 1e3,
      server.max * 1e3);
  if (!first_error.empty()) absl::StrAppend(&out.summary, "  first failure: ", first_error, "\n");
  out.json = absl::StrFormat(
      "{\"label\": \"%s\", \"function\": \"%s\", \"shape\": \"%s\", \"requests\": %d, "
      "\"succeeded\": %d, \"rpc_failed\": %d, \"elapsed_s\": %.6f, \"throughput_rps\": %.3f, "
      "\"latency_s\": {\"mean\": %.6f, \"p50\": %.6f, \"p90\": %.6f, \"p95\": %.6f, "
      "\"p99\": %.6f, \"max\": %.6f}}",
      label, function, shape, n, out.succeeded, out.rpc_failed, elapsed,
      elapsed > 0 ? n / elapsed : 0.0, client.mean, client.p50, client.p90, client.p95, client.p99,
      client.max);
  return out;
}

v1::InvokeRequest Request(const std::string& function, const std::string& pattern, int i) {
  v1::InvokeRequest req;
  req.set_function(function);
  req.set_payload(Payload(pattern, i));
  return req;
}

std::vector<Sample> RunClosedLoop(v1::Controller::Stub* stub, const std::string& function,
                                  const std::string& pattern, int requests, int concurrency) {
  std::vector<Sample> samples(static_cast<size_t>(requests));
  std::atomic<int> next{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < concurrency; ++c) {
    clients.emplace_back([&] {
      for (int i = next++; i < requests; i = next++) {
        Sample& s = samples[static_cast<size_t>(i)];
        s.index = i;
        const v1::InvokeRequest req = Request(function, pattern, i);
        grpc::ClientContext ctx;
        ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Minutes(20)));
        s.sent = absl::Now();
        grpc::Status status = stub->Invoke(&ctx, req, &s.result);
        s.client_latency = absl::ToDoubleSeconds(absl::Now() - s.sent);
        s.rpc = status.error_code();
        s.rpc_message = status.error_message();
      }
    });
  }
  for (std::thread& t : clients) t.join();
  return samples;
}

// One open-loop level: each invocation is sent at its scheduled time on the
// async API, so slow responses never delay later sends. Returns how many sends
// were later than `max_lag`.
struct OpenLevel {
  std::vector<Sample> samples;
  int late = 0;
  absl::Duration worst_lag;
};

OpenLevel RunOpenLevel(v1::Controller::Stub* stub, const std::string& function,
                       const std::string& pattern, double rate,
                       const std::vector<absl::Duration>& schedule, int first_index,
                       absl::Duration max_lag) {
  OpenLevel level;
  level.samples.resize(schedule.size());
  struct Call {
    grpc::ClientContext ctx;
    v1::InvokeRequest request;
  };
  std::vector<std::unique_ptr<Call>> calls(schedule.size());
  absl::Mutex mu;
  size_t outstanding = schedule.size();
  const absl::Time start = absl::Now();
  for (size_t k = 0; k < schedule.size(); ++k) {
    Sample& s = level.samples[k];
    s.index = first_index + static_cast<int>(k);
    s.level_rps = rate;
    s.scheduled = start + schedule[k];
    auto call = std::make_unique<Call>();
    call->request = Request(function, pattern, s.index);
    call->ctx.set_deadline(absl::ToChronoTime(s.scheduled + absl::Minutes(20)));
    // Sleep to just before the slot, then spin: sleeping alone overshoots by
    // the scheduler's tick, which matters at thousands of requests per second.
    if (const absl::Duration wait = s.scheduled - absl::Now(); wait > absl::Microseconds(200)) {
      absl::SleepFor(wait - absl::Microseconds(200));
    }
    while (absl::Now() < s.scheduled) {
    }
    s.sent = absl::Now();
    const absl::Duration lag = s.sent - s.scheduled;
    level.worst_lag = std::max(level.worst_lag, lag);
    if (lag > max_lag) ++level.late;
    Call* raw = call.get();
    calls[k] = std::move(call);
    stub->async()->Invoke(&raw->ctx, &raw->request, &s.result,
                          [&s, &mu, &outstanding](grpc::Status status) {
                            s.client_latency = absl::ToDoubleSeconds(absl::Now() - s.sent);
                            s.rpc = status.error_code();
                            s.rpc_message = status.error_message();
                            absl::MutexLock lock(&mu);
                            --outstanding;
                          });
  }
  absl::MutexLock lock(&mu);
  mu.Await(absl::Condition(
      +[](size_t* n) { return *n == 0; }, &outstanding));
  return level;
}

int Fail(const std::string& reason) {
  std::fprintf(stderr, "fsched-bench: %s\n", reason.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "fsched-bench --function NAME [--requests N --concurrency C | --rates R1,R2 --duration D]\n"
      "Closed- or open-loop load against an fsched master; prints latency percentiles.");
  absl::ParseCommandLine(argc, argv);
  const std::string function = absl::GetFlag(FLAGS_function);
  const int requests = absl::GetFlag(FLAGS_requests);
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  const bool open_loop = !absl::GetFlag(FLAGS_rates).empty();
  if (function.empty()) return Fail("--function is required");
  if (!open_loop && (requests <= 0 || concurrency <= 0)) {
    return Fail("--requests and --concurrency must be positive");
  }
  std::vector<double> rates;
  if (open_loop) {
    auto parsed = bench::ParseRates(absl::GetFlag(FLAGS_rates));
    if (!parsed.ok()) return Fail(absl::StrCat("--rates: ", parsed.status().message()));
    rates = *parsed;
  }
  std::string label = absl::GetFlag(FLAGS_label);
  if (label.empty()) label = open_loop ? "open-loop" : "closed-loop";

  auto stub = v1::Controller::NewStub(MakeChannel(absl::GetFlag(FLAGS_master)));
  const std::string pattern = absl::GetFlag(FLAGS_payload);
  std::vector<Sample> all;
  std::vector<Outcome> levels;
  bool fell_behind = false;
  if (!open_loop) {
    const absl::Time start = absl::Now();
    all = RunClosedLoop(stub.get(), function, pattern, requests, concurrency);
    const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
    levels.push_back(
        SummarizeLevel(label, function, all, elapsed, absl::StrCat("concurrency ", concurrency)));
    std::cout << levels.back().summary;
  } else {
    for (size_t l = 0; l < rates.size(); ++l) {
      auto schedule = bench::PoissonArrivals(rates[l], absl::GetFlag(FLAGS_duration),
                                             absl::GetFlag(FLAGS_seed) + l);
      if (!schedule.ok()) return Fail(absl::StrCat("--duration: ", schedule.status().message()));
      if (schedule->empty()) continue;
      OpenLevel level = RunOpenLevel(stub.get(), function, pattern, rates[l], *schedule,
                                     static_cast<int>(all.size()), absl::GetFlag(FLAGS_max_lag));
      const double span =
          absl::ToDoubleSeconds(level.samples.back().sent - level.samples.front().sent);
      const double achieved = span > 0 ? (level.samples.size() - 1) / span : 0;
      Outcome out = SummarizeLevel(label, function, level.samples,
                                   absl::ToDoubleSeconds(absl::GetFlag(FLAGS_duration)),
                                   absl::StrFormat("Poisson %.6g req/s", rates[l]));
      absl::StrAppend(
          &out.summary,
          absl::StrFormat("  sent at %.1f req/s (asked %.6g); worst send lag %.3f ms; "
                          "%d of %d sends more than %s late\n",
                          achieved, rates[l], absl::ToDoubleMilliseconds(level.worst_lag),
                          level.late, static_cast<int>(level.samples.size()),
                          absl::FormatDuration(absl::GetFlag(FLAGS_max_lag))));
      // The driver must say when it could not keep the schedule (open loop means open loop).
      if (level.late * 100 > static_cast<int>(level.samples.size())) {
        fell_behind = true;
        absl::StrAppend(&out.summary,
                        "  WARNING: the driver fell behind its schedule; results at this "
                        "level understate the offered load\n");
      }
      std::cout << out.summary << std::flush;
      levels.push_back(std::move(out));
      all.insert(all.end(), std::make_move_iterator(level.samples.begin()),
                 std::make_move_iterator(level.samples.end()));
    }
  }

  int succeeded = 0;
  for (const Outcome& o : levels) succeeded += o.succeeded;
  if (const std::string dir = absl::GetFlag(FLAGS_out); !dir.empty()) {
    std::filesystem::create_directories(dir);
    WriteCsv(dir + "/invocations.csv", all);
    std::ofstream text(dir + "/summary.txt");
    std::string json = levels.size() == 1 ? levels[0].json : "[";
    for (size_t i = 0; i < levels.size(); ++i) {
      text << levels[i].summary;
      if (levels.size() > 1) absl::StrAppend(&json, i ? ", " : "", levels[i].json);
    }
    if (levels.size() > 1) json += "]";
    std::ofstream(dir + "/summary.json") << json << "\n";
    std::cout << "  results in " << dir << "/ (invocations.csv, summary.txt, summary.json)\n";
  }
  if (fell_behind) return 1;
  return succeeded == static_cast<int>(all.size()) ? 0 : 1;
}
