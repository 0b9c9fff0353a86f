#include "common/civetweb_listener.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace fsched {
namespace {

// Connects to host:port and closes again.
void KnockOnce(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return;
  const int fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    connect(fd, found->ai_addr, found->ai_addrlen);
    close(fd);
  }
  freeaddrinfo(found);
}

}  // namespace

absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view listen, absl::string_view key) {
  const size_t colon = listen.rfind(':');
  ListenAddress out;
  if (colon == absl::string_view::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &out.port) ||
      out.port < 0 || out.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(key, " '", listen, "' is not host:port (e.g. 0.0.0.0:8080; port 0 = any)"));
  }
  out.host = std::string(listen.substr(0, colon));
  if (out.host.size() >= 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  return out;
}

void StopWhileKnocking(const ListenAddress& bound, absl::FunctionRef<void()> stop) {
  // A wildcard listener is reached on the loopback address of its family.
  std::string host = bound.host;
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  std::atomic<bool> stopped{false};
  std::thread knocker([&] {
    while (!stopped.load()) {
      KnockOnce(host, bound.port);
      absl::SleepFor(absl::Milliseconds(20));
    }
  });
  stop();
  stopped.store(true);
  knocker.join();
}

}  // namespace fsched
