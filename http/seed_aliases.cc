#include "http/seed_aliases.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "http/grpc_bridge.h"

namespace fsched::http {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

absl::StatusOr<Struct> ParseObject(absl::string_view body, absl::string_view endpoint) {
  Struct parsed;
  if (body.empty()) return parsed;
  const auto status = google::protobuf::util::JsonStringToMessage(std::string(body), &parsed);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(endpoint, " takes a JSON object: ", std::string(status.message())));
  }
  return parsed;
}

const Value* Field(const Struct& s, const char* name) {
  auto it = s.fields().find(name);
  return it == s.fields().end() ? nullptr : &it->second;
}

absl::StatusOr<std::string> RequiredString(const Struct& s, const char* name,
                                           absl::string_view endpoint) {
  const Value* v = Field(s, name);
  if (v == nullptr || v->kind_case() != Value::kStringValue || v->string_value().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(endpoint, " needs \"", name, "\", a non-empty string"));
  }
  return v->string_value();
}

// Seed 003 gives a command as one string; fsched's is an argv. A string is
// split on whitespace (no shell), a list taken as it is.
absl::StatusOr<Value> Argv(const Struct& s, absl::string_view endpoint) {
  const Value* v = Field(s, "command");
  Value argv;
  auto* list = argv.mutable_list_value();
  if (v != nullptr && v->kind_case() == Value::kStringValue) {
    for (absl::string_view word : absl::StrSplit(v->string_value(), ' ', absl::SkipWhitespace())) {
      list->add_values()->set_string_value(std::string(word));
    }
  } else if (v != nullptr && v->kind_case() == Value::kListValue) {
    *list = v->list_value();
  }
  if (list->values_size() == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(endpoint, " needs \"command\": a command line or a list of arguments"));
  }
  return argv;
}

absl::StatusOr<SeedCall> Call(const char* service, const char* method, const Struct& request) {
  return SeedCall{service, method, ToJson(request)};
}

// GET endpoints: the query's parameters as the request's fields (strings;
// protobuf's JSON parser takes numbers as strings too).
absl::StatusOr<SeedCall> QueryCall(const char* service, const char* method,
                                   const QueryParams& query) {
  Struct request;
  for (const auto& [name, value] : query) {
    (*request.mutable_fields())[name].set_string_value(value);
  }
  return Call(service, method, request);
}

// seed 001: {"fn_name", "payload", "arch"}.
absl::StatusOr<SeedCall> Entry(absl::string_view body) {
  constexpr absl::string_view kEndpoint = "POST /entry";
  absl::StatusOr<Struct> seed = ParseObject(body, kEndpoint);
  if (!seed.ok()) return seed.status();
  absl::StatusOr<std::string> function = RequiredString(*seed, "fn_name", kEndpoint);
  if (!function.ok()) return function.status();
  Struct request;
  auto& f = *request.mutable_fields();
  f["function"].set_string_value(*function);
  if (const Value* payload = Field(*seed, "payload")) {
    // The seed's payload is text, or any JSON value, which the function gets as JSON.
    const std::string text =
        payload->kind_case() == Value::kStringValue ? payload->string_value() : ToJson(*payload);
    f["payload"].set_string_value(absl::Base64Escape(text));
  }
  if (const Value* arch = Field(*seed, "arch")) {
    if (arch->kind_case() != Value::kStringValue) {
      return absl::InvalidArgumentError(
          "POST /entry: \"arch\" is centralized, federated, decentralized or dynamic");
    }
    f["architecture"].set_string_value(
        absl::StrCat("ARCHITECTURE_", absl::AsciiStrToUpper(arch->string_value())));
  }
  return Call("fsched.v1.Controller", "Invoke", request);
}

// seed 001: {"soft_d2f": 1.2, "hard_d2f": 2.0, ...}, the thresholds themselves.
absl::StatusOr<SeedCall> UpdateThreshold(absl::string_view body) {
  absl::StatusOr<Struct> seed = ParseObject(body, "POST /update_threshold");
  if (!seed.ok()) return seed.status();
  Struct request;
  *(*request.mutable_fields())["thresholds"].mutable_struct_value() = *seed;
  return Call("fsched.v1.Admin", "UpdateThresholds", request);
}

// seed 003: {"command", "task_id", "input_size"}.
absl::StatusOr<SeedCall> Task(const char* method, absl::string_view endpoint,
                              absl::string_view body) {
  absl::StatusOr<Struct> seed = ParseObject(body, endpoint);
  if (!seed.ok()) return seed.status();
  absl::StatusOr<std::string> task = RequiredString(*seed, "task_id", endpoint);
  if (!task.ok()) return task.status();
  absl::StatusOr<Value> argv = Argv(*seed, endpoint);
  if (!argv.ok()) return argv.status();
  Struct request;
  auto& f = *request.mutable_fields();
  f["task_id"].set_string_value(*task);
  f["command"] = *std::move(argv);
  if (const Value* size = Field(*seed, "input_size")) f["input_size"] = *size;
  return Call("fsched.v1.Controller", method, request);
}

// seed 003: {"function_name", "parameters"}: an asynchronous call whose
// payload is the parameters as JSON text (what the function reads).
absl::StatusOr<SeedCall> Submit(absl::string_view body) {
  constexpr absl::string_view kEndpoint = "POST /submit";
  absl::StatusOr<Struct> seed = ParseObject(body, kEndpoint);
  if (!seed.ok()) return seed.status();
  absl::StatusOr<std::string> function = RequiredString(*seed, "function_name", kEndpoint);
  if (!function.ok()) return function.status();
  Struct request;
  auto& f = *request.mutable_fields();
  f["function"].set_string_value(*function);
  if (const Value* parameters = Field(*seed, "parameters")) {
    f["payload"].set_string_value(absl::Base64Escape(ToJson(*parameters)));
  }
  return Call("fsched.v1.Controller", "Submit", request);
}

// seed 003: {"host": "10.0.0.5:50052"}, the worker's address.
absl::StatusOr<SeedCall> AddWorker(absl::string_view body) {
  constexpr absl::string_view kEndpoint = "POST /cluster/worker/add";
  absl::StatusOr<Struct> seed = ParseObject(body, kEndpoint);
  if (!seed.ok()) return seed.status();
  absl::StatusOr<std::string> host = RequiredString(*seed, "host", kEndpoint);
  if (!host.ok()) return host.status();
  Struct request;
  (*request.mutable_fields())["address"].set_string_value(*host);
  return Call("fsched.v1.Cluster", "AddWorker", request);
}

}  // namespace

std::optional<SeedAlias> MatchSeedAlias(absl::string_view http_method, absl::string_view path,
                                        const QueryParams& query, absl::string_view body) {
  const bool get = http_method == "GET", post = http_method == "POST";
  auto alias = [&](const char* allow, bool allowed, auto make) -> std::optional<SeedAlias> {
    SeedAlias a{allow, std::nullopt};
    if (allowed) a.call = make();
    return a;
  };
  // seed 001
  if (path == "/entry") return alias("POST", post, [&] { return Entry(body); });
  if (path == "/load") {
    return alias("GET", get, [&] { return QueryCall("fsched.v1.Admin", "GetLoad", query); });
  }
  if (path == "/arch_metrics") {
    return alias("GET", get, [&] { return QueryCall("fsched.v1.Admin", "GetArchMetrics", query); });
  }
  if (path == "/configuration") {
    return alias("GET", get,
                 [&] { return QueryCall("fsched.v1.Admin", "GetConfiguration", query); });
  }
  if (path == "/durations") {
    return alias("GET", get, [&] { return QueryCall("fsched.v1.Admin", "GetDurations", query); });
  }
  if (path == "/reload") {
    // {"architecture": "federated"} is SetArchitectureRequest's own shape.
    return alias("POST", post, [&]() -> absl::StatusOr<SeedCall> {
      return SeedCall{"fsched.v1.Admin", "SetArchitecture", std::string(body)};
    });
  }
  if (path == "/update_threshold") {
    return alias("POST", post, [&] { return UpdateThreshold(body); });
  }
  // seed 003
  if (path == "/controller/task/run") {
    return alias("POST", post, [&] { return Task("RunTask", "POST /controller/task/run", body); });
  }
  if (path == "/controller/task/benchmark") {
    return alias("POST", post,
                 [&] { return Task("BenchmarkTask", "POST /controller/task/benchmark", body); });
  }
  if (path == "/submit") return alias("POST", post, [&] { return Submit(body); });
  if (path == "/cluster/worker/add") return alias("POST", post, [&] { return AddWorker(body); });
  if (path == "/cluster/workers" || path == "/cluster/worker/list") {
    return alias("GET", get, [&] { return QueryCall("fsched.v1.Cluster", "ListWorkers", query); });
  }
  return std::nullopt;
}

}  // namespace fsched::http
