#include "http/http_gateway.h"

#include <civetweb.h>
#include <google/protobuf/util/json_util.h>

#include <cmath>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/grpc_status.h"
#include "common/log.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "fsched/v1/controller.pb.h"
#include "http/http_status.h"
#include "http/seed_aliases.h"
#include "http/task_upload.h"

namespace fsched::http {
namespace {

struct Reply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

Reply JsonReply(int status, std::string json) {
  Reply r;
  r.status = status;
  r.body = std::move(json);
  r.body += '\n';
  return r;
}

Reply ErrorReply(const absl::Status& status) {
  Reply r = JsonReply(HttpStatusFor(status.code()), ErrorJson(status));
  if (const std::optional<absl::Duration> wait = RetryAfter(status)) {
    // Retry-After counts whole seconds: round up, so a client never comes back early.
    r.headers.emplace_back("Retry-After",
                           absl::StrCat(std::max<int64_t>(
                               1, absl::ToInt64Seconds(absl::Ceil(*wait, absl::Seconds(1))))));
  }
  return r;
}

Reply MethodNotAllowed(absl::string_view method, absl::string_view path, const char* allowed) {
  Reply r = JsonReply(405, ErrorJson(absl::InvalidArgumentError(absl::StrCat(
                               method, " is not served on ", path, "; use ", allowed))));
  r.headers.emplace_back("Allow", allowed);
  return r;
}

void Send(mg_connection* conn, const Reply& r) {
  mg_response_header_start(conn, r.status);
  mg_response_header_add(conn, "Content-Type", r.content_type.c_str(), -1);
  mg_response_header_add(conn, "Content-Length", std::to_string(r.body.size()).c_str(), -1);
  for (const auto& [name, value] : r.headers) {
    mg_response_header_add(conn, name.c_str(), value.c_str(), -1);
  }
  mg_response_header_send(conn);
  if (!r.body.empty()) mg_write(conn, r.body.data(), r.body.size());
}

// The request body, or the 413 that refuses it. A body without a length
// (chunked) is read up to the limit and refused past it.
std::optional<Reply> ReadBody(mg_connection* conn, uint64_t max, std::string* body) {
  const mg_request_info* info = mg_get_request_info(conn);
  auto too_large = [&](absl::string_view size) {
    Reply r =
        JsonReply(413, ErrorJson(absl::ResourceExhaustedError(absl::StrCat(
                           "the request body (", size, " bytes) is over the limit of ", max,
                           " bytes: scheduler.max_payload_bytes plus 1 MiB for the envelope"))));
    r.headers.emplace_back("Connection", "close");
    mg_disable_keep_alive(conn);
    return r;
  };
  if (info->content_length > 0 && static_cast<uint64_t>(info->content_length) > max) {
    return too_large(absl::StrCat(info->content_length));
  }
  if (info->content_length > 0) body->reserve(static_cast<size_t>(info->content_length));
  // Straight into the string: civetweb's threads have small stacks.
  constexpr size_t kChunk = 64 * 1024;
  for (;;) {
    const size_t had = body->size();
    body->resize(had + kChunk);
    const int n = mg_read(conn, body->data() + had, kChunk);
    body->resize(had + static_cast<size_t>(std::max(n, 0)));
    if (n <= 0) break;
    if (body->size() > max) return too_large(absl::StrCat("more than ", max));
  }
  return std::nullopt;
}

// "EXECUTION_MODE_WARM" -> "warm".
std::string EnumWord(const std::string& name, absl::string_view prefix) {
  return absl::AsciiStrToLower(absl::StripPrefix(name, prefix));
}

std::string Milliseconds(const google::protobuf::Duration& d) {
  return absl::StrFormat("%.3f", absl::ToDoubleMilliseconds(FromProto(d)));
}

// A finished synchronous call: the output on success; what went wrong, as
// text, otherwise (502 for the function's own failure, 504 for its timeout,
// 503 when it never ran). Headers tell the invocation's facts either way.
Reply InvocationReply(const v1::InvocationResult& result) {
  Reply r;
  r.content_type = "application/octet-stream";
  switch (result.outcome()) {
    case v1::OUTCOME_OK:
      r.status = 200;
      break;
    case v1::OUTCOME_TIMEOUT:
      r.status = 504;
      break;
    case v1::OUTCOME_REJECTED:
      r.status = 503;
      break;
    default:
      r.status = 502;
  }
  if (r.status == 200) {
    r.body = result.stdout();
  } else {
    r.content_type = "text/plain; charset=utf-8";
    r.body = absl::StrCat(result.message().empty()
                              ? EnumWord(v1::Outcome_Name(result.outcome()), "OUTCOME_")
                              : result.message(),
                          "\n", result.stderr());
  }
  auto& h = r.headers;
  h.emplace_back("X-Fsched-Invocation-Id", result.invocation_id());
  h.emplace_back("X-Fsched-Outcome", EnumWord(v1::Outcome_Name(result.outcome()), "OUTCOME_"));
  if (!result.worker_id().empty()) h.emplace_back("X-Fsched-Worker", result.worker_id());
  if (result.mode() != v1::EXECUTION_MODE_UNSPECIFIED) {
    h.emplace_back("X-Fsched-Mode",
                   EnumWord(v1::ExecutionMode_Name(result.mode()), "EXECUTION_MODE_"));
  }
  if (result.outcome() == v1::OUTCOME_NONZERO_EXIT) {
    h.emplace_back("X-Fsched-Exit-Code", absl::StrCat(result.exit_code()));
  }
  h.emplace_back("X-Fsched-Attempts", absl::StrCat(result.attempts()));
  if (result.stdout_truncated()) h.emplace_back("X-Fsched-Output-Truncated", "true");
  const v1::Timings& t = result.timings();
  // Server-Timing is the standard header for this (browsers' devtools show it).
  h.emplace_back("Server-Timing", absl::StrCat("queue;dur=", Milliseconds(t.queue_wait()),
                                               ", cold-start;dur=", Milliseconds(t.cold_start()),
                                               ", init;dur=", Milliseconds(t.init()),
                                               ", execution;dur=", Milliseconds(t.execution()),
                                               ", total;dur=", Milliseconds(t.total())));
  return r;
}

// The one path segment after `prefix`, or nullopt (empty, or more segments).
std::optional<std::string> Segment(absl::string_view path, absl::string_view prefix) {
  if (!absl::ConsumePrefix(&path, prefix)) return std::nullopt;
  if (path.empty() || absl::StrContains(path, '/')) return std::nullopt;
  return std::string(path);
}

// The query's parameters, decoded, in order.
QueryParams Query(const mg_request_info* info) {
  QueryParams out;
  if (info->query_string == nullptr) return out;
  std::string copy = info->query_string;  // split in place
  mg_header fields[64];
  const int n = mg_split_form_urlencoded(copy.data(), fields, 64);
  for (int i = 0; i < n; ++i) {
    out.emplace_back(fields[i].name, fields[i].value != nullptr ? fields[i].value : "");
  }
  return out;
}

std::optional<std::string> QueryValue(const mg_request_info* info, const char* name) {
  if (info->query_string == nullptr) return std::nullopt;
  char value[256];
  const int n =
      mg_get_var(info->query_string, std::strlen(info->query_string), name, value, sizeof(value));
  if (n < 0) return std::nullopt;
  return std::string(value, static_cast<size_t>(n));
}

// An asynchronous call accepted: 202, its id, and where to find it.
Reply SubmitReply(GrpcBridge& bridge, const v1::InvokeRequest& request, const CallOptions& call) {
  v1::SubmitResponse submitted;
  const absl::Status status = bridge.Call("fsched.v1.Controller.Submit", request, &submitted, call);
  if (!status.ok()) return ErrorReply(status);
  Reply reply = JsonReply(202, ToJson(submitted));
  reply.headers.emplace_back("Location", absl::StrCat("/invocations/", submitted.invocation_id()));
  reply.headers.emplace_back("X-Fsched-Invocation-Id", submitted.invocation_id());
  return reply;
}

// A seed's endpoint, called: its fsched response as JSON; /entry answers as
// POST /function does, with the hops, route and architecture as headers, and
// /submit as POST /async-function does.
Reply SeedReply(GrpcBridge& bridge, const std::string& invoke_method, const SeedCall& seed,
                mg_connection* conn, const CallOptions& call) {
  if (seed.method == "Submit") {
    v1::InvokeRequest request;
    if (!google::protobuf::util::JsonStringToMessage(seed.json, &request).ok()) {
      return ErrorReply(absl::InternalError("the /submit alias made a request it cannot parse"));
    }
    return SubmitReply(bridge, request, call);
  }
  if (seed.method != "Invoke") {
    absl::StatusOr<std::string> json = bridge.CallJson(seed.service, seed.method, seed.json, call);
    return json.ok() ? JsonReply(200, *std::move(json)) : ErrorReply(json.status());
  }
  // Seed 001's /entry: fsched counts a request's hops itself, as over gRPC,
  // and answers them (with the route and the architecture) as headers.
  if (mg_get_header(conn, "X-Hop-Count") != nullptr) {
    return ErrorReply(absl::InvalidArgumentError(
        "X-Hop-Count is set by fsched when it forwards a request; a caller may not send it"));
  }
  v1::InvokeRequest request;
  if (!google::protobuf::util::JsonStringToMessage(seed.json, &request).ok()) {
    return ErrorReply(absl::InternalError("the /entry alias made a request it cannot parse"));
  }
  v1::InvocationResult result;
  const absl::Status status = bridge.Call(invoke_method, request, &result, call);
  if (!status.ok()) return ErrorReply(status);
  Reply reply = InvocationReply(result);
  reply.headers.emplace_back("X-Hop-Count", absl::StrCat(result.hops()));
  reply.headers.emplace_back("X-Route", absl::StrJoin(result.route(), ","));
  reply.headers.emplace_back(
      "X-Architecture", EnumWord(v1::Architecture_Name(result.architecture()), "ARCHITECTURE_"));
  if (!result.entry_node().empty()) reply.headers.emplace_back("X-Entry-Node", result.entry_node());
  return reply;
}

}  // namespace

HttpGateway::HttpGateway(Options options)
    : options_(std::move(options)), bridge_(options_.channel, options_.served) {}

absl::StatusOr<std::unique_ptr<HttpGateway>> HttpGateway::Start(Options options) {
  ASSIGN_OR_RETURN(ListenAddress address, ParseListenAddress(options.listen, "http.listen"));
  std::unique_ptr<HttpGateway> gateway(new HttpGateway(std::move(options)));
  const Options& o = gateway->options_;
  const std::string threads = absl::StrCat(o.threads);
  // Debian's civetweb fixes its threads' stack size when it is built (small):
  // handlers keep large buffers off the stack. A reply goes out as two writes
  // (headers, then body): with Nagle's algorithm on, the body waits for the
  // client's delayed ACK, 40 ms per call on a kept-alive connection.
  const char* config[] = {"listening_ports",
                          o.listen.c_str(),
                          "num_threads",
                          threads.c_str(),
                          "enable_keep_alive",
                          "yes",
                          "tcp_nodelay",
                          "1",
                          nullptr};
  mg_callbacks callbacks{};
  mg_init_data init{&callbacks, gateway.get(), config};
  char error_text[256] = "";
  mg_error_data error{nullptr, error_text, sizeof(error_text)};
  gateway->server_ = mg_start2(&init, &error);
  if (gateway->server_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve HTTP on '", gateway->options_.listen, "': ", error_text));
  }
  mg_server_port ports[4];
  const int n = mg_get_server_ports(gateway->server_, 4, ports);
  if (n <= 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve HTTP on '", gateway->options_.listen, "'"));
  }
  address.port = ports[0].port;
  gateway->bound_ = std::move(address);
  mg_set_request_handler(gateway->server_, "/", &HttpGateway::Handle, gateway.get());
  return gateway;
}

HttpGateway::~HttpGateway() {
  {
    // The server's owner has let waiting calls go (a closing master answers
    // them): their answers get out before the server stops writing.
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    mu_.AwaitWithTimeout(
        absl::Condition(
            +[](HttpGateway* g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(g->mu_) { return g->serving_ == 0; },
            this),
        absl::Seconds(5));
  }
  if (server_ != nullptr) {
    if (bound_.port == 0) {  // never bound: nothing to knock on
      mg_stop(server_);
    } else {
      StopWhileKnocking(bound_, [this] { mg_stop(server_); });
    }
  }
}

int HttpGateway::Handle(mg_connection* conn, void* self) {
  auto* gateway = static_cast<HttpGateway*>(self);
  bool stopping;
  {
    absl::MutexLock lock(&gateway->mu_);
    stopping = gateway->stopping_;
    if (!stopping) ++gateway->serving_;
  }
  if (stopping) {
    Reply refused = ErrorReply(absl::UnavailableError("this node is shutting down"));
    refused.headers.emplace_back("Connection", "close");
    Send(conn, refused);
    return 1;
  }
  gateway->Serve(conn);
  absl::MutexLock lock(&gateway->mu_);
  --gateway->serving_;
  return 1;  // answered
}

void HttpGateway::Serve(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  if (options_.relay_only != nullptr && !(std::strcmp(info->remote_addr, "127.0.0.1") == 0 &&
                                          options_.relay_only->Contains(info->remote_port))) {
    // Behind the TLS terminator: a direct connection would skip TLS and the
    // client-certificate check.
    Reply refused = ErrorReply(absl::PermissionDeniedError(
        "this listener serves the HTTPS entry's relay only: connect over HTTPS"));
    refused.headers.emplace_back("Connection", "close");
    return Send(conn, refused);
  }
  const absl::string_view method = info->request_method;
  const absl::string_view path = info->local_uri != nullptr ? info->local_uri : "";
  CallOptions call;
  if (const char* authorization = mg_get_header(conn, "Authorization")) {
    call.authorization = authorization;
  }
  auto read_body = [&](std::string* body) { return ReadBody(conn, options_.max_body_bytes, body); };
  // POST /function/{name} and /async-function/{name}: the body is the payload.
  auto invoke_request = [&](const std::string& name,
                            v1::InvokeRequest* request) -> std::optional<Reply> {
    if (method != "POST") return MethodNotAllowed(method, path, "POST");
    if (std::optional<Reply> refused = read_body(request->mutable_payload())) return refused;
    request->set_function(name);
    return std::nullopt;
  };

  Reply reply;
  if (path == "/healthz") {
    if (method != "GET") return Send(conn, MethodNotAllowed(method, path, "GET"));
    reply.content_type = "text/plain";
    reply.body = "ok\n";
  } else if (absl::StartsWith(path, "/v1/")) {
    const std::vector<absl::string_view> parts =
        absl::StrSplit(absl::StripPrefix(path, "/v1/"), '/');
    if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
      reply = ErrorReply(absl::NotFoundError(absl::StrCat(
          "'", path, "' is not /v1/{package.Service}/{Method}, e.g. /v1/fsched.v1.Admin/GetLoad")));
    } else if (method != "POST") {
      reply = MethodNotAllowed(method, path, "POST");
    } else {
      std::string body;
      if (std::optional<Reply> refused = read_body(&body)) return Send(conn, *refused);
      absl::StatusOr<std::string> json = bridge_.CallJson(parts[0], parts[1], body, call);
      reply = json.ok() ? JsonReply(200, *std::move(json)) : ErrorReply(json.status());
    }
  } else if (std::optional<std::string> name = Segment(path, "/function/")) {
    v1::InvokeRequest request;
    if (std::optional<Reply> refused = invoke_request(*name, &request)) {
      return Send(conn, *refused);
    }
    v1::InvocationResult result;
    std::string accepted;
    const absl::Status status =
        bridge_.Call(options_.invoke_method, request, &result, call, &accepted);
    if (status.ok()) {
      reply = InvocationReply(result);
    } else if (accepted.empty()) {
      reply = ErrorReply(status);
    } else {
      // Accepted, then the call broke off (the master stopping, say): the
      // invocation goes on, and its result can be fetched.
      reply = ErrorReply(absl::Status(
          status.code(),
          absl::StrCat(status.message(), " (invocation ", accepted,
                       " was accepted: GET /invocations/", accepted, "?wait=30s for its result)")));
      reply.headers.emplace_back("X-Fsched-Invocation-Id", accepted);
      reply.headers.emplace_back("Location", absl::StrCat("/invocations/", accepted));
    }
  } else if (std::optional<std::string> name = Segment(path, "/async-function/")) {
    v1::InvokeRequest request;
    if (std::optional<Reply> refused = invoke_request(*name, &request)) {
      return Send(conn, *refused);
    }
    reply = SubmitReply(bridge_, request, call);
  } else if (std::optional<std::string> id = Segment(path, "/invocations/")) {
    v1::Invocation invocation;
    absl::Status status;
    if (method == "GET") {
      if (std::optional<std::string> wait = QueryValue(info, "wait")) {
        v1::WaitInvocationRequest request;
        request.set_invocation_id(*id);
        absl::Duration timeout;
        if (!absl::ParseDuration(*wait, &timeout) || timeout < absl::ZeroDuration()) {
          return Send(conn, ErrorReply(absl::InvalidArgumentError(absl::StrCat(
                                "wait='", *wait, "' is not a duration (e.g. 30s, 2m)"))));
        }
        ToProto(timeout, request.mutable_timeout());
        status = bridge_.Call("fsched.v1.Controller.WaitInvocation", request, &invocation, call);
      } else {
        v1::GetInvocationRequest request;
        request.set_invocation_id(*id);
        status = bridge_.Call("fsched.v1.Controller.GetInvocation", request, &invocation, call);
      }
    } else if (method == "DELETE") {
      v1::CancelInvocationRequest request;
      request.set_invocation_id(*id);
      status = bridge_.Call("fsched.v1.Controller.CancelInvocation", request, &invocation, call);
    } else {
      return Send(conn, MethodNotAllowed(method, path, "GET, DELETE"));
    }
    reply = status.ok() ? JsonReply(200, ToJson(invocation)) : ErrorReply(status);
  } else if (path == "/controller/task/new") {
    // Seed 003's task upload: a multipart form, streamed into UploadTask.
    if (method != "POST") return Send(conn, MethodNotAllowed(method, path, "POST"));
    if (absl::Status served = bridge_.CheckServed("fsched.v1.Controller"); !served.ok()) {
      reply = ErrorReply(served);
      reply.headers.emplace_back("Connection", "close");  // the form was not read
    } else {
      TaskUpload upload = UploadTaskFromForm(conn, options_.channel, call);
      reply = upload.task.ok() ? JsonReply(200, ToJson(*upload.task))
                               : ErrorReply(upload.task.status());
      if (upload.body_left) reply.headers.emplace_back("Connection", "close");
    }
  } else {
    std::string body;
    if (method == "POST") {
      if (std::optional<Reply> refused = read_body(&body)) return Send(conn, *refused);
    }
    std::optional<SeedAlias> alias = MatchSeedAlias(method, path, Query(info), body);
    if (!alias.has_value()) {
      reply = ErrorReply(absl::NotFoundError(absl::StrCat(
          "nothing is served at '", path,
          "': POST /function/{name}, POST /async-function/{name}, GET /invocations/{id}, "
          "POST /v1/{package.Service}/{Method}, the seeds' endpoints (docs/http.md)")));
    } else if (!alias->call.has_value()) {
      reply = MethodNotAllowed(method, path, alias->allow);
    } else if (!alias->call->ok()) {
      reply = ErrorReply(alias->call->status());
    } else {
      reply = SeedReply(bridge_, options_.invoke_method, **alias->call, conn, call);
    }
  }
  Send(conn, reply);
}

}  // namespace fsched::http
