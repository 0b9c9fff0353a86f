#include "common/thread_name.h"

#include <pthread.h>

#include <string>

namespace fsched {

void NameThisThread(std::string_view name) {
  constexpr size_t kKernelLimit = 15;
  const std::string cut(name.substr(0, kKernelLimit));
  // Fails only for a name too long, which the cut rules out.
  pthread_setname_np(pthread_self(), cut.c_str());
}

}  // namespace fsched
