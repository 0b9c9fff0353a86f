#include "worker/oci_spec.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/worker/busybox_rootfs.h"

namespace fsched::worker {
namespace {

namespace fs = std::filesystem;
using google::protobuf::Struct;

Struct Parse(const std::string& json) {
  Struct s;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &s).ok()) << json;
  return s;
}

const google::protobuf::Value& At(const Struct& s, std::initializer_list<const char*> path) {
  const Struct* current = &s;
  const google::protobuf::Value* value = nullptr;
  for (const char* key : path) {
    value = &current->fields().at(key);
    current = &value->struct_value();
  }
  return *value;
}

TEST(OciSpecTest, IsolatesByDefaultAndCarriesLimits) {
  ContainerSpec spec;
  spec.rootfs = "/var/lib/fsched/rootfs/abc";
  spec.argv = {"sh", "-c", "echo hi"};
  spec.env = {{"A", "1"}};
  spec.memory_bytes = 64 << 20;
  spec.cpu_cores = 0.5;
  spec.cgroups_path = "/fsched/inv-1";
  const Struct c = Parse(OciConfigJson(spec));
  EXPECT_TRUE(At(c, {"root", "readonly"}).bool_value());
  EXPECT_EQ(At(c, {"root", "path"}).string_value(), spec.rootfs);
  EXPECT_TRUE(At(c, {"process", "noNewPrivileges"}).bool_value());
  EXPECT_EQ(At(c, {"process", "args"}).list_value().values(2).string_value(), "echo hi");
  std::vector<std::string> namespaces;
  for (const auto& ns : At(c, {"linux", "namespaces"}).list_value().values()) {
    namespaces.push_back(ns.struct_value().fields().at("type").string_value());
  }
  EXPECT_EQ(namespaces, (std::vector<std::string>{"pid", "ipc", "uts", "mount", "network"}));
  EXPECT_EQ(At(c, {"linux", "resources", "memory", "limit"}).number_value(), 64 << 20);
  EXPECT_EQ(At(c, {"linux", "resources", "cpu", "quota"}).number_value(), 50000);
  EXPECT_EQ(At(c, {"linux", "resources", "cpu", "period"}).number_value(), 100000);
  EXPECT_EQ(At(c, {"linux", "resources", "pids", "limit"}).number_value(), 256);
  EXPECT_EQ(At(c, {"linux", "cgroupsPath"}).string_value(), "/fsched/inv-1");
  const auto& env = At(c, {"process", "env"}).list_value();
  std::vector<std::string> vars;
  for (const auto& v : env.values()) vars.push_back(v.string_value());
  EXPECT_NE(std::find(vars.begin(), vars.end(), "A=1"), vars.end());
  EXPECT_NE(std::find_if(vars.begin(), vars.end(),
                         [](const std::string& v) { return v.rfind("PATH=", 0) == 0; }),
            vars.end());

  spec.network = true;
  spec.memory_bytes = 0;
  spec.cpu_cores = 0;
  const Struct open = Parse(OciConfigJson(spec));
  for (const auto& ns : At(open, {"linux", "namespaces"}).list_value().values()) {
    EXPECT_NE(ns.struct_value().fields().at("type").string_value(), "network");
  }
  EXPECT_FALSE(At(open, {"linux", "resources"}).struct_value().fields().contains("memory"));
  EXPECT_FALSE(At(open, {"linux", "resources"}).struct_value().fields().contains("cpu"));
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The spec in a real container (runc and busybox-static, which
// scripts/setup.sh installs): the function sees only its own processes,
// cannot write its root filesystem but can write /tmp, reads its stdin, and
// has no network beyond a loopback device.
TEST(OciSpecTest, RuncRunsItIsolated) {
  if (const std::string why = testing::WhyNoContainers(); !why.empty()) GTEST_SKIP() << why;
  ASSERT_EQ(std::system("runc --version >/dev/null 2>&1"), 0) << "apt-get install runc";
  const fs::path bundle =
      fs::path(::testing::TempDir()) / ("oci-spec-test-" + std::to_string(getpid()));
  fs::remove_all(bundle);
  const fs::path rootfs = bundle / "rootfs";
  std::string why;
  ASSERT_TRUE(testing::MakeBusyboxRootfs(rootfs.string(), &why)) << why;
  ContainerSpec spec;
  spec.rootfs = rootfs.string();
  spec.argv = {"sh", "-c",
               "echo init=$(cat /proc/1/comm); "
               "echo procs=$(ls /proc | grep -c '^[0-9]'); "
               "touch /rootfs-write 2>/dev/null && echo rootfs=writable || echo rootfs=readonly; "
               "touch /tmp/x && echo tmp=writable; "
               "echo links=$(ls /sys/class/net | wc -l); "
               "echo stdin=$(cat)"};
  spec.memory_bytes = 32 << 20;
  std::ofstream(bundle / "config.json") << OciConfigJson(spec);
  std::ofstream(bundle / "in") << "payload";
  const std::string id = "fsched-oci-test-" + std::to_string(getpid());
  const std::string cmd = "runc run --bundle " + bundle.string() + " " + id + " < " +
                          (bundle / "in").string() + " > " + (bundle / "out").string() + " 2> " +
                          (bundle / "err").string();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << Slurp(bundle / "err");
  const std::string out = Slurp(bundle / "out");
  // Its own PID namespace: the shell is PID 1 and only a handful of processes exist.
  EXPECT_NE(out.find("init=sh\n"), std::string::npos) << out;
  const size_t procs = out.find("procs=");
  ASSERT_NE(procs, std::string::npos) << out;
  EXPECT_LT(std::stoi(out.substr(procs + 6)), 10) << out;
  EXPECT_NE(out.find("rootfs=readonly\n"), std::string::npos) << out;
  EXPECT_NE(out.find("tmp=writable\n"), std::string::npos) << out;
  EXPECT_NE(out.find("links=1\n"), std::string::npos) << out;  // lo only
  EXPECT_NE(out.find("stdin=payload\n"), std::string::npos) << out;
  // runc run removes the container and its cgroups when it exits: nothing is left behind.
  EXPECT_NE(std::system(("runc state " + id + " >/dev/null 2>&1").c_str()), 0);
  for (const char* controller : {"memory", "pids", "cpu", "devices"}) {
    const fs::path root = fs::path("/sys/fs/cgroup") / controller;
    if (!fs::exists(root)) continue;
    for (auto it =
             fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied);
         it != fs::recursive_directory_iterator(); ++it) {
      if (it.depth() > 3) it.disable_recursion_pending();
      EXPECT_EQ(it->path().filename().string().find(id), std::string::npos) << it->path();
    }
  }
  fs::remove_all(bundle);
}

}  // namespace
}  // namespace fsched::worker
