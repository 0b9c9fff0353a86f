// The HTTP/1.1 entry of a master, zone master or worker (docs/http.md), on civetweb:
//   POST /function/{name}         invoke; the body is the payload, the answer the output
//   POST /async-function/{name}   submit; 202 with the invocation id
//   GET  /invocations/{id}        the invocation; ?wait=30s waits for its end
//   DELETE /invocations/{id}      cancel it
//   POST /v1/{package.Service}/{Method}   any unary method, JSON in and out
//   GET  /healthz                 200 while serving
// Every route is a call of the process's own gRPC services (GrpcBridge), so
// HTTP callers meet the same authentication, limits and errors.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/civetweb_listener.h"
#include "http/grpc_bridge.h"
#include "http/tls_terminator.h"

struct mg_connection;
struct mg_context;

namespace fsched::http {

class HttpGateway {
 public:
  struct Options {
    std::string listen;  // host:port, port 0 = any
    uint32_t threads = 16;
    uint64_t max_body_bytes = 0;             // larger request bodies are refused with 413
    std::shared_ptr<grpc::Channel> channel;  // to this process's gRPC server
    ServedServices served;                   // what that server serves
    // What POST /function/{name} and seed 001's /entry call: a master's
    // Controller.Invoke, or a worker's Worker.Invoke (routed by the worker).
    std::string invoke_method = "fsched.v1.Controller.Invoke";
    // Behind the TLS terminator (tls_terminator.h): requests are served only
    // on its relay connections. Null = every connection.
    std::shared_ptr<const RelayPorts> relay_only;
  };

  /// UNAVAILABLE when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpGateway>> Start(Options options);
  ~HttpGateway();
  HttpGateway(const HttpGateway&) = delete;
  HttpGateway& operator=(const HttpGateway&) = delete;

  int port() const { return bound_.port; }

 private:
  explicit HttpGateway(Options options);
  static int Handle(mg_connection* conn, void* self);
  void Serve(mg_connection* conn);

  Options options_;
  GrpcBridge bridge_;
  ListenAddress bound_;
  mg_context* server_ = nullptr;
  // Requests being served. Once the server stops nothing more is written,
  // so stopping first turns new requests away and lets these answer.
  absl::Mutex mu_;
  int serving_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace fsched::http
