// TLS end to end: a master that requires client certificates (mutual TLS)
// admits a worker with a certificate from its CA and the join token, and no
// worker with a certificate from another CA or with the wrong token; clients
// need TLS and, here, a certificate too.
#include <fstream>

#include "tests/integration/cluster_fixture.h"

namespace fsched {
namespace {

class TlsTest : public ClusterTest {
 protected:
  void SetUp() override {
    ClusterTest::SetUp();
    pki_ = dir_ + "/pki";
    // Every node's certificate also names the cluster ("fsched"), which the
    // workers check peers against (tls.server_name), as in Kubernetes.
    for (const char* name : {"master", "w1", "w2", "client"}) MakeCert(pki_, name, "fsched");
    MakeCert(dir_ + "/rogue-pki", "rogue", "fsched");  // another CA altogether
  }

  void MakeCert(const std::string& dir, const std::string& name, const std::string& san) {
    const int code = RunToEnd(
        {"/bin/bash", std::string(FSCHED_SOURCE_DIR) + "/scripts/gen-certs.sh", dir, name, san},
        dir_ + "/gen-certs.log");
    ASSERT_EQ(code, 0) << testing::ReadFile(dir_ + "/gen-certs.log");
  }

  int RunToEnd(const std::vector<std::string>& argv, const std::string& log) {
    auto process = Process::Start(argv, log);
    EXPECT_TRUE(process.ok()) << process.status();
    if (!process.ok()) return -1;
    return (*process)->Wait(absl::Seconds(60)).value_or(-1);
  }

  std::string TlsBlock(const std::string& dir, const std::string& name) {
    return absl::StrCat("tls: {cert: ", dir, "/", name, ".crt, key: ", dir, "/", name,
                        ".key, ca: ", dir, "/ca.crt, require_client_cert: true}\n");
  }

  // A worker config file holding its TLS identity (flags give the rest).
  std::string WorkerConfig(const std::string& dir, const std::string& name) {
    const std::string path = dir_ + "/" + name + ".yaml";
    std::string block = TlsBlock(dir, name);
    block.insert(block.rfind('}'), ", server_name: fsched");
    testing::WriteFile(path, block);
    return path;
  }

  static std::string Read(const std::string& path) { return testing::ReadFile(path); }

  // The fixture's stubs, now over TLS with the given client identity.
  void DialWithTls(const std::string& cert_name) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = Read(pki_ + "/ca.crt");
    if (!cert_name.empty()) {
      options.pem_cert_chain = Read(pki_ + "/" + cert_name + ".crt");
      options.pem_private_key = Read(pki_ + "/" + cert_name + ".key");
    }
    channel_ = MakeChannel(master_address_, grpc::SslCredentials(options));
    controller_ = v1::Controller::NewStub(channel_);
    cluster_ = v1::Cluster::NewStub(channel_);
    admin_ = v1::Admin::NewStub(channel_);
  }

  grpc::Status ListWith(std::shared_ptr<grpc::Channel> channel) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    v1::ListWorkersResponse resp;
    return v1::Cluster::NewStub(channel)->ListWorkers(&ctx, v1::ListWorkersRequest(), &resp);
  }

  std::string pki_;
};

TEST_F(TlsTest, OnlyAWorkerWithTheClustersCertificateAndTokenJoins) {
  StartMaster(TlsBlock(pki_, "master"));
  DialWithTls("client");

  worker_flags_ = {"--config", WorkerConfig(pki_, "w1")};
  StartWorker("w1", 2);
  WaitForReady({"w1"});
  ASSERT_TRUE(Register("hello", {"echo", "over tls"}).ok());
  v1::InvocationResult result;
  ASSERT_TRUE(Invoke("hello", "", &result).ok());
  EXPECT_EQ(result.stdout(), "over tls\n");

  // The right token, trusting the cluster's CA, but presenting a certificate
  // from another CA: the master refuses the handshake, so the worker never
  // registers (it keeps retrying, unseen).
  const std::string rogue_config = dir_ + "/rogue.yaml";
  testing::WriteFile(rogue_config,
                     absl::StrCat("tls: {cert: ", dir_, "/rogue-pki/rogue.crt, key: ", dir_,
                                  "/rogue-pki/rogue.key, ca: ", pki_, "/ca.crt}\n"));
  worker_flags_ = {"--config", rogue_config};
  Process* rogue = StartWorker("rogue", 1);
  ASSERT_NE(rogue, nullptr);
  // The right certificate, but checking the master for a name its certificate
  // lacks (tls.server_name): this worker refuses the master.
  const std::string misnamed_config = dir_ + "/misnamed.yaml";
  std::string misnamed = TlsBlock(pki_, "w2");
  misnamed.insert(misnamed.rfind('}'), ", server_name: not-the-cluster");
  testing::WriteFile(misnamed_config, misnamed);
  worker_flags_ = {"--config", misnamed_config};
  Process* misnamed_worker = StartWorker("misnamed", 1);
  ASSERT_NE(misnamed_worker, nullptr);
  // A certificate from the right CA but the wrong token: refused, and it exits.
  worker_flags_ = {"--config", WorkerConfig(pki_, "w2")};
  Process* w2 = StartWorker("w2", 1, "not-the-token");
  ASSERT_NE(w2, nullptr);
  EXPECT_EQ(w2->Wait(absl::Seconds(20)), 3) << Read(w2->log_path());
  EXPECT_THAT(Read(w2->log_path()), HasSubstr("refused"));
  absl::SleepFor(absl::Seconds(2));
  EXPECT_TRUE(rogue->running());
  EXPECT_TRUE(misnamed_worker->running());
  std::vector<std::string> ids;
  for (const v1::WorkerInfo& w : ListWorkers()) ids.push_back(w.id());
  EXPECT_THAT(ids, ::testing::ElementsAre("w1"));

  // Clients: plain TCP is refused, and so is TLS without a client certificate.
  EXPECT_EQ(ListWith(grpc::CreateChannel(master_address_, grpc::InsecureChannelCredentials()))
                .error_code(),
            grpc::StatusCode::UNAVAILABLE);
  grpc::SslCredentialsOptions no_client_cert;
  no_client_cert.pem_root_certs = Read(pki_ + "/ca.crt");
  EXPECT_FALSE(
      ListWith(grpc::CreateChannel(master_address_, grpc::SslCredentials(no_client_cert))).ok());

  // fschedctl with the operator's certificate.
  const std::string log = dir_ + "/ctl.log";
  EXPECT_EQ(
      RunToEnd({FSCHED_CTL_BIN, "--master", master_address_, "--tls_ca", pki_ + "/ca.crt",
                "--tls_cert", pki_ + "/client.crt", "--tls_key", pki_ + "/client.key", "workers"},
               log),
      0)
      << Read(log);
  EXPECT_THAT(Read(log), HasSubstr("w1"));
  EXPECT_EQ(RunToEnd({FSCHED_CTL_BIN, "--master", master_address_, "workers"}, dir_ + "/plain.log"),
            1);
}

TEST_F(TlsTest, AMissingCertificateFileStopsTheMasterWithItsPath) {
  const std::string config = dir_ + "/bad.yaml";
  testing::WriteFile(
      config,
      MasterConfig(absl::StrCat("tls: {cert: ", dir_, "/nope.crt, key: ", pki_, "/master.key}\n")));
  auto master = Process::Start({FSCHED_MASTER_BIN, "--config", config}, dir_ + "/bad.log");
  ASSERT_TRUE(master.ok());
  EXPECT_EQ((*master)->Wait(absl::Seconds(20)), 2);
  EXPECT_THAT(Read(dir_ + "/bad.log"), HasSubstr("nope.crt"));
}

}  // namespace
}  // namespace fsched
