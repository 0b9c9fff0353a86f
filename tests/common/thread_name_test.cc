#include "common/thread_name.h"

#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <thread>

namespace fsched {
namespace {

std::string CommOf(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/comm");
  std::string name;
  std::getline(in, name);
  return name;
}

TEST(ThreadNameTest, TheKernelShowsTheNameCutToFifteenBytes) {
  std::string short_name, long_name;
  std::thread([&] {
    const pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
    NameThisThread("slot");
    short_name = CommOf(tid);
    NameThisThread("instance-pool-and-more");
    long_name = CommOf(tid);
  }).join();
  EXPECT_EQ(short_name, "slot");
  EXPECT_EQ(long_name, "instance-pool-a");
}

}  // namespace
}  // namespace fsched
