// fsched-bench: drives an fsched master and records every invocation.
// This version runs closed-loop workloads (C concurrent clients, N requests in
// all); it writes a per-invocation CSV, a text summary and a JSON summary.
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
#include "absl/time/clock.h"
#include "common/proto_time.h"
#include "common/quantiles.h"
#include "common/rpc.h"
#include "fsched/v1/controller.grpc.pb.h"

ABSL_FLAG(std::string, master, "127.0.0.1:50051", "master address host:port");
ABSL_FLAG(std::string, function, "", "function to invoke (required)");
ABSL_FLAG(int, requests, 100, "invocations in total");
ABSL_FLAG(int, concurrency, 4, "concurrent closed-loop clients");
ABSL_FLAG(std::string, payload, "", "payload for each invocation ({i} is replaced by its index)");
ABSL_FLAG(std::string, out, "", "results directory (CSV + summaries); empty = print only");
ABSL_FLAG(std::string, label, "closed-loop", "label written into the results");

namespace {

using namespace fsched;

struct Sample {
  int index = 0;
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
         "client_latency_s,cpu_percent_at_dispatch,memory_percent_at_dispatch,rpc_status\n";
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
        << "," << static_cast<int>(s.rpc) << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "fsched-bench --function NAME [--requests N] [--concurrency C] [--out DIR]\n"
      "Closed-loop load against an fsched master; prints latency percentiles.");
  absl::ParseCommandLine(argc, argv);
  const std::string function = absl::GetFlag(FLAGS_function);
  const int requests = absl::GetFlag(FLAGS_requests);
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  if (function.empty()) return std::fprintf(stderr, "fsched-bench: --function is required\n"), 2;
  if (requests <= 0 || concurrency <= 0) {
    return std::fprintf(stderr, "fsched-bench: --requests and --concurrency must be positive\n"), 2;
  }

  auto stub = v1::Controller::NewStub(MakeChannel(absl::GetFlag(FLAGS_master)));
  std::vector<Sample> samples(static_cast<size_t>(requests));
  std::atomic<int> next{0};
  const std::string pattern = absl::GetFlag(FLAGS_payload);
  const absl::Time start = absl::Now();
  std::vector<std::thread> clients;
  for (int c = 0; c < concurrency; ++c) {
    clients.emplace_back([&] {
      for (int i = next++; i < requests; i = next++) {
        Sample& s = samples[static_cast<size_t>(i)];
        s.index = i;
        v1::InvokeRequest req;
        req.set_function(function);
        req.set_payload(Payload(pattern, i));
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
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);

  std::vector<double> latencies, totals;
  int ok = 0, rpc_failed = 0;
  std::map<std::string, int> per_worker;
  std::string first_error;
  for (const Sample& s : samples) {
    if (s.rpc != grpc::StatusCode::OK) {
      ++rpc_failed;
      if (first_error.empty()) first_error = s.rpc_message;
      continue;
    }
    latencies.push_back(s.client_latency);
    totals.push_back(ToSeconds(s.result.timings().total()));
    ++per_worker[s.result.worker_id()];
    if (s.result.outcome() == v1::OUTCOME_OK) {
      ++ok;
    } else if (first_error.empty()) {
      first_error = absl::StrCat(v1::Outcome_Name(s.result.outcome()), ": ", s.result.message());
    }
  }
  const Summary client = Summarize(latencies);
  const Summary server = Summarize(totals);
  std::string workers;
  for (const auto& [w, n] : per_worker)
    absl::StrAppend(&workers, workers.empty() ? "" : ", ", w, "=", n);
  const std::string summary = absl::StrFormat(
      "%s: %d invocations of %s, concurrency %d, %.2f s, %.1f req/s\n"
      "  succeeded %d, function failed %d, rpc failed %d\n"
      "  per worker: %s\n"
      "  client latency  mean %.2f ms  p50 %.2f ms  p90 %.2f ms  p95 %.2f ms  p99 %.2f ms  max "
      "%.2f ms\n"
      "  master total    mean %.2f ms  p50 %.2f ms  p90 %.2f ms  p95 %.2f ms  p99 %.2f ms  max "
      "%.2f ms\n",
      absl::GetFlag(FLAGS_label), requests, function, concurrency, elapsed, requests / elapsed, ok,
      requests - ok - rpc_failed, rpc_failed, workers, client.mean * 1e3, client.p50 * 1e3,
      client.p90 * 1e3, client.p95 * 1e3, client.p99 * 1e3, client.max * 1e3, server.mean * 1e3,
      server.p50 * 1e3, server.p90 * 1e3, server.p95 * 1e3, server.p99 * 1e3, server.max * 1e3);
  std::cout << summary;
  if (!first_error.empty()) std::cout << "  first failure: " << first_error << "\n";

  if (const std::string dir = absl::GetFlag(FLAGS_out); !dir.empty()) {
    std::filesystem::create_directories(dir);
    WriteCsv(dir + "/invocations.csv", samples);
    std::ofstream(dir + "/summary.txt") << summary;
    std::ofstream(dir + "/summary.json") << absl::StrFormat(
        "{\"label\": \"%s\", \"function\": \"%s\", \"requests\": %d, \"concurrency\": %d, "
        "\"succeeded\": %d, \"rpc_failed\": %d, \"elapsed_s\": %.6f, \"throughput_rps\": %.3f, "
        "\"latency_s\": {\"mean\": %.6f, \"p50\": %.6f, \"p90\": %.6f, \"p95\": %.6f, \"p99\": "
        "%.6f, "
        "\"max\": %.6f}}\n",
        absl::GetFlag(FLAGS_label), function, requests, concurrency, ok, rpc_failed, elapsed,
        requests / elapsed, client.mean, client.p50, client.p90, client.p95, client.p99,
        client.max);
    std::cout << "  results in " << dir << "/ (invocations.csv, summary.txt, summary.json)\n";
  }
  return ok == requests ? 0 : 1;
}
