#include "http/http_entry.h"

#include "common/status_macros.h"
#include "common/transport_security.h"

namespace fsched::http {

EntryRole MasterEntry() { return {.served = {}, .invoke_method = "fsched.v1.Controller.Invoke"}; }

EntryRole WorkerEntry() {
  return {.served = {.services = {"fsched.v1.Worker", "fsched.v1.Admin"}, .node_kind = "worker"},
          .invoke_method = "fsched.v1.Worker.Invoke"};
}

absl::StatusOr<std::unique_ptr<HttpGateway>> StartHttpEntry(const Config& config,
                                                            grpc::Server* server,
                                                            uint64_t max_body_bytes,
                                                            EntryRole role) {
  if (config.http().listen().empty()) return nullptr;
  HttpGateway::Options http;
  http.listen = config.http().listen();
  http.threads = config.http().threads();
  http.max_body_bytes = max_body_bytes;
  // The server bounds what it accepts and sends; the bridge's channel does not add limits.
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  http.channel = server->InProcessChannel(args);
  http.served = std::move(role.served);
  http.invoke_method = std::move(role.invoke_method);
  if (TlsConfigured(config.tls()) && !config.tls().cert().empty()) {
    HttpGateway::Options::Tls tls;
    tls.certificate_and_key = config.state_dir() + "/http-tls.pem";
    RETURN_IF_ERROR(WriteCertificateAndKey(config.tls(), tls.certificate_and_key));
    tls.ca = config.tls().ca();
    tls.require_client_cert = config.tls().require_client_cert();
    http.tls = std::move(tls);
  }
  return HttpGateway::Start(std::move(http));
}

}  // namespace fsched::http
