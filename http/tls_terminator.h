// HTTPS for the HTTP entry. Debian 12's civetweb cannot do TLS with OpenSSL 3
// (it looks up a symbol OpenSSL 3 dropped), so TLS ends here instead: Boost.Asio's
// SSL stream accepts the connections, checks client certificates when asked,
// and relays the decrypted bytes to the gateway's own listener on loopback.
// Nothing here reads HTTP. The gateway serves that listener only to the
// relay's own connections (RelayPorts), so neither TLS nor a required client
// certificate can be skipped by connecting to it directly.
#pragma once

#include <memory>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace fsched::http {

/// The local ports of the relay's connections to the gateway, while they are open.
class RelayPorts {
 public:
  void Add(int port) ABSL_LOCKS_EXCLUDED(mu_);
  void Remove(int port) ABSL_LOCKS_EXCLUDED(mu_);
  bool Contains(int port) const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_set<int> ports_ ABSL_GUARDED_BY(mu_);
};

class TlsTerminator {
 public:
  struct Options {
    std::string listen;               // host:port, port 0 = any
    std::string certificate_and_key;  // one PEM file: chain, then key
    std::string ca;                   // clients' CA; empty = no client certificates asked
    bool require_client_cert = false;
    int backend_port = 0;  // the gateway's listener on 127.0.0.1
    std::shared_ptr<RelayPorts> relay_ports;
  };

  /// INVALID_ARGUMENT naming the file for a certificate, key or CA that does
  /// not load; UNAVAILABLE when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<TlsTerminator>> Start(Options options);
  /// Stops accepting, closes every connection and joins its threads.
  ~TlsTerminator();
  TlsTerminator(const TlsTerminator&) = delete;
  TlsTerminator& operator=(const TlsTerminator&) = delete;

  int port() const;

 private:
  struct State;
  explicit TlsTerminator(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace fsched::http
