#include "http/http_entry.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/transport_security.h"

namespace fsched::http {

EntryRole MasterEntry() { return {.served = {}, .invoke_method = "fsched.v1.Controller.Invoke"}; }

EntryRole WorkerEntry() {
  return {.served = {.services = {"fsched.v1.Worker", "fsched.v1.Admin"}, .node_kind = "worker"},
          .invoke_method = "fsched.v1.Worker.Invoke"};
}

std::string HttpEntry::Describe() const {
  if (!tls_) return absl::StrCat("HTTP on port ", port(), " (POST /function/NAME, /v1/...)");
  return absl::StrCat("HTTPS on port ", port(), " (POST /function/NAME, /v1/...), relayed to ",
                      "the HTTP entry on 127.0.0.1:", gateway_->port());
}

HttpEntry::~HttpEntry() {
  tls_.reset();
  gateway_.reset();
}

absl::StatusOr<std::unique_ptr<HttpEntry>> StartHttpEntry(const Config& config,
                                                          grpc::Server* server,
                                                          uint64_t max_body_bytes, EntryRole role) {
  if (config.http().listen().empty()) return nullptr;
  const bool tls = TlsConfigured(config.tls()) && !config.tls().cert().empty();
  HttpGateway::Options http;
  // With TLS the gateway listens on loopback for the terminator alone.
  http.listen = tls ? "127.0.0.1:0" : config.http().listen();
  http.threads = config.http().threads();
  http.max_body_bytes = max_body_bytes;
  // The server bounds what it accepts and sends; the bridge's channel does not add limits.
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  http.channel = server->InProcessChannel(args);
  http.served = std::move(role.served);
  http.invoke_method = std::move(role.invoke_method);
  auto relay_ports = std::make_shared<RelayPorts>();
  if (tls) http.relay_only = relay_ports;
  std::unique_ptr<HttpEntry> entry(new HttpEntry());
  ASSIGN_OR_RETURN(entry->gateway_, HttpGateway::Start(std::move(http)));
  if (!tls) return entry;
  TlsTerminator::Options https;
  https.listen = config.http().listen();
  https.certificate_and_key = config.state_dir() + "/http-tls.pem";
  RETURN_IF_ERROR(WriteCertificateAndKey(config.tls(), https.certificate_and_key));
  https.ca = config.tls().ca();
  https.require_client_cert = config.tls().require_client_cert();
  https.backend_port = entry->gateway_->port();
  https.relay_ports = std::move(relay_ports);
  ASSIGN_OR_RETURN(entry->tls_, TlsTerminator::Start(std::move(https)));
  return entry;
}

}  // namespace fsched::http
