#include "http/tls_terminator.h"

// Boost 1.74's Asio uses std::exchange without including <utility> (GCC 12, C++20).
#include <utility>
// clang-format off
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
// clang-format on

#include <array>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/civetweb_listener.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace fsched::http {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using boost::system::error_code;

// A client that connects and never completes its handshake is dropped after this.
constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
// The gateway closed its side: how long the client is given to take the TLS close.
constexpr auto kShutdownTimeout = std::chrono::seconds(1);

// One client connection: the TLS side and its plain twin to the gateway,
// bytes pumped both ways. Every handler runs on the connection's strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket client, ssl::context& context, int backend_port,
          std::shared_ptr<RelayPorts> relay_ports)
      : client_(std::move(client), context),
        backend_(client_.get_executor()),
        timer_(client_.get_executor()),
        backend_port_(backend_port),
        relay_ports_(std::move(relay_ports)) {}
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session() {
    if (relay_port_ != 0) relay_ports_->Remove(relay_port_);
  }

  void Start() {
    auto self = shared_from_this();
    timer_.expires_after(kHandshakeTimeout);
    timer_.async_wait([self](const error_code& ec) {
      if (!ec && !self->relaying_) self->Close();
    });
    client_.async_handshake(ssl::stream_base::server, [self](const error_code& ec) {
      if (ec) return self->Close();  // not TLS, or a certificate refused
      self->ConnectBackend();
    });
  }

 private:
  void ConnectBackend() {
    auto self = shared_from_this();
    backend_.async_connect(
        tcp::endpoint(asio::ip::address_v4::loopback(), static_cast<uint16_t>(backend_port_)),
        [self](const error_code& ec) {
          if (ec) {
            FSCHED_LOG(kWarning, "https: cannot reach the HTTP entry on port %d: %s",
                       self->backend_port_, ec.message());
            return self->Close();
          }
          error_code local;
          const tcp::endpoint me = self->backend_.local_endpoint(local);
          if (local) return self->Close();
          // Registered before any byte flows: the gateway reads the request only after.
          self->relay_port_ = me.port();
          self->relay_ports_->Add(self->relay_port_);
          self->relaying_ = true;
          self->timer_.cancel();
          self->PumpToBackend();
          self->PumpToClient();
        });
  }

  void PumpToBackend() {
    auto self = shared_from_this();
    client_.async_read_some(asio::buffer(up_), [self](const error_code& ec, size_t n) {
      if (ec) return self->Close();  // the client is gone (or ended TLS)
      asio::async_write(self->backend_, asio::buffer(self->up_, n),
                        [self](const error_code& ec, size_t) {
                          if (ec) return self->Close();
                          self->PumpToBackend();
                        });
    });
  }

  void PumpToClient() {
    auto self = shared_from_this();
    backend_.async_read_some(asio::buffer(down_), [self](const error_code& ec, size_t n) {
      if (ec) return self->EndTls();  // the gateway closed (Connection: close)
      asio::async_write(self->client_, asio::buffer(self->down_, n),
                        [self](const error_code& ec, size_t) {
                          if (ec) return self->Close();
                          self->PumpToClient();
                        });
    });
  }

  // Everything the gateway sent has been written: close TLS politely, briefly.
  void EndTls() {
    if (closed_) return;
    auto self = shared_from_this();
    timer_.expires_after(kShutdownTimeout);
    timer_.async_wait([self](const error_code& ec) {
      if (!ec) self->Close();
    });
    client_.async_shutdown([self](const error_code&) { self->Close(); });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    // No longer the relay's before its connection closes: its port admits nobody after.
    if (relay_port_ != 0) relay_ports_->Remove(std::exchange(relay_port_, 0));
    error_code ignored;  // closing: there is nothing left to tell anyone
    timer_.cancel();
    backend_.close(ignored);
    client_.lowest_layer().close(ignored);
  }

  ssl::stream<tcp::socket> client_;
  tcp::socket backend_;
  asio::steady_timer timer_;
  const int backend_port_;
  const std::shared_ptr<RelayPorts> relay_ports_;
  int relay_port_ = 0;
  bool relaying_ = false;
  bool closed_ = false;
  std::array<char, 16 << 10> up_;
  std::array<char, 16 << 10> down_;
};

}  // namespace

void RelayPorts::Add(int port) {
  absl::MutexLock lock(&mu_);
  ports_.insert(port);
}

void RelayPorts::Remove(int port) {
  absl::MutexLock lock(&mu_);
  ports_.erase(port);
}

bool RelayPorts::Contains(int port) const {
  absl::MutexLock lock(&mu_);
  return ports_.contains(port);
}

struct TlsTerminator::State {
  explicit State(Options o) : options(std::move(o)) {}

  void Accept() {
    acceptor.async_accept(asio::make_strand(io), [this](const error_code& ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        std::make_shared<Session>(std::move(s), context, options.backend_port, options.relay_ports)
            ->Start();
      }
      Accept();
    });
  }

  Options options;
  // Declared before the io_context: the sessions' streams, destroyed with the
  // io_context's pending handlers, use it to the end.
  ssl::context context{ssl::context::tls_server};
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::vector<std::thread> threads;
  int port = 0;
};

TlsTerminator::TlsTerminator(std::unique_ptr<State> state) : state_(std::move(state)) {}

absl::StatusOr<std::unique_ptr<TlsTerminator>> TlsTerminator::Start(Options options) {
  ASSIGN_OR_RETURN(ListenAddress address, ParseListenAddress(options.listen, "http.listen"));
  auto state = std::make_unique<State>(std::move(options));
  const Options& o = state->options;
  ssl::context& context = state->context;
  error_code ec;
  context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                          ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                          ssl::context::no_tlsv1_1,
                      ec);  // TLS 1.2 and later only
  if (!ec) context.use_certificate_chain_file(o.certificate_and_key, ec);
  if (!ec) context.use_private_key_file(o.certificate_and_key, ssl::context::pem, ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat("https: cannot load the certificate and key in ",
                                                   o.certificate_and_key, ": ", ec.message()));
  }
  if (!o.ca.empty()) {
    if (context.load_verify_file(o.ca, ec); ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("https: cannot load the clients' CA ", o.ca, ": ", ec.message()));
    }
  }
  if (o.require_client_cert) {
    context.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert, ec);
    // Sessions resumed with a verified client need an id context of their own.
    static constexpr unsigned char kSessionContext[] = "fsched-http";
    SSL_CTX_set_session_id_context(context.native_handle(), kSessionContext,
                                   sizeof(kSessionContext) - 1);
  }

  tcp::resolver resolver(state->io);
  const auto endpoints =
      resolver.resolve(address.host, std::to_string(address.port), tcp::resolver::passive, ec);
  if (ec || endpoints.empty()) {
    return absl::UnavailableError(
        absl::StrCat("https: cannot resolve '", o.listen, "': ", ec.message()));
  }
  const tcp::endpoint endpoint = endpoints.begin()->endpoint();
  tcp::acceptor& acceptor = state->acceptor;
  if (acceptor.open(endpoint.protocol(), ec); !ec) {
    acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve HTTPS on '", o.listen, "': ", ec.message()));
  }
  state->port = acceptor.local_endpoint(ec).port();
  state->Accept();
  for (int i = 0; i < 2; ++i) state->threads.emplace_back([s = state.get()] { s->io.run(); });
  return std::unique_ptr<TlsTerminator>(new TlsTerminator(std::move(state)));
}

TlsTerminator::~TlsTerminator() {
  state_->io.stop();
  for (std::thread& t : state_->threads) t.join();
}

int TlsTerminator::port() const { return state_->port; }

}  // namespace fsched::http
