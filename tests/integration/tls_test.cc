// TLS end to end: a master that requires client certificates (mutual TLS)
// admits a worker with a certificate from its CA and the join token, and no
// worker with a certificate from another CA or with the wrong token; clients
// need TLS and, here, a certificate too.
#include <fstream>

#include "absl/strings/str_split.h"
#include "fsched/v1/auth.grpc.pb.h"
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
    for (const char* name : {"master", "w1", "w2", "client", "viewer", "stranger"}) {
      MakeCert(pki_, name, "fsched");
    }
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

// With mutual TLS, a verified certificate's CN names a caller that sends no
// token (auth.certificates); a token, when sent, still decides.
TEST_F(TlsTest, ACertificateNamesTheCallerWhenNoTokenIsSent) {
  StartMaster(TlsBlock(pki_, "master") +
              "auth: {certificates: [{name: client, role: developer}, "
              "{name: viewer, role: invoker}]}\n");
  // Channels of grpc's own: the fixture's MakeChannel would add the admin token.
  const auto with_cert = [&](const std::string& name) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = Read(pki_ + "/ca.crt");
    options.pem_cert_chain = Read(pki_ + "/" + name + ".crt");
    options.pem_private_key = Read(pki_ + "/" + name + ".key");
    return grpc::CreateChannel(master_address_, grpc::SslCredentials(options));
  };
  const auto who = [&](std::shared_ptr<grpc::Channel> channel, v1::Identity* me) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    return v1::Tokens::NewStub(channel)->WhoAmI(&ctx, v1::WhoAmIRequest(), me);
  };
  v1::Identity me;
  ASSERT_TRUE(who(with_cert("client"), &me).ok());
  EXPECT_EQ(me.name(), "client");
  EXPECT_EQ(me.role(), v1::ROLE_DEVELOPER);
  EXPECT_EQ(me.source(), "certificate");
  // The developer registers; the invoker may not.
  const auto register_as = [&](std::shared_ptr<grpc::Channel> channel) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::RegisterFunctionRequest req;
    req.mutable_spec()->set_name("by-cert");
    req.mutable_spec()->add_command("true");
    req.set_replace(true);
    v1::Function f;
    return v1::Controller::NewStub(channel)->RegisterFunction(&ctx, req, &f);
  };
  EXPECT_TRUE(register_as(with_cert("client")).ok());
  const grpc::Status viewer = register_as(with_cert("viewer"));
  EXPECT_EQ(viewer.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(viewer.error_message(), HasSubstr("certificate 'viewer' has role invoker"));
  // A certificate of the cluster's CA without a role here is not enough.
  const grpc::Status stranger = who(with_cert("stranger"), &me);
  EXPECT_EQ(stranger.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(stranger.error_message(), HasSubstr("'stranger' has no role here"));
  // A token sent over the same connection decides over the certificate.
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", std::string("Bearer ") + testing::kAdminToken);
  ASSERT_TRUE(
      v1::Tokens::NewStub(with_cert("viewer"))->WhoAmI(&ctx, v1::WhoAmIRequest(), &me).ok());
  EXPECT_EQ(me.source(), "token");
  EXPECT_EQ(me.role(), v1::ROLE_ADMIN);
}

// The HTTP entry with TLS on serves HTTPS with the master's certificate, asks
// clients for theirs as gRPC does, and still wants a token (a certificate
// alone names nobody over HTTP: the in-process call carries no peer
// certificate). The gateway behind the TLS side serves none but the relay's
// connections.
TEST_F(TlsTest, TheHttpEntryServesHttpsWithTheMastersCertificate) {
  const std::string config = TlsBlock(pki_, "master") +
                             "http: {listen: 127.0.0.1:0, port_file: " + dir_ +
                             "/master.http-port}\n";
  StartMaster(config);
  auto port = testing::WaitForPortFile(dir_ + "/master.http-port", master_.get());
  ASSERT_TRUE(port.ok()) << port.status();
  const std::string url = absl::StrCat("https://127.0.0.1:", *port, "/v1/fsched.v1.Admin/GetLoad");
  const auto curl = [&](std::vector<std::string> extra, const std::string& out) {
    std::vector<std::string> argv = {"/usr/bin/curl",
                                     "-sS",
                                     "-X",
                                     "POST",
                                     "-d",
                                     "{}",
                                     "-o",
                                     out,
                                     "-w",
                                     "%{http_code}",
                                     "--cacert",
                                     pki_ + "/ca.crt",
                                     url};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const std::string log = out + ".log";
    const int code = RunToEnd(argv, log);
    return std::make_pair(code, Read(log));
  };
  const std::vector<std::string> client_cert = {"--cert", pki_ + "/client.crt", "--key",
                                                pki_ + "/client.key"};
  std::vector<std::string> with_token = client_cert;
  with_token.insert(with_token.end(),
                    {"-H", absl::StrCat("Authorization: Bearer ", testing::kAdminToken)});
  auto [code, log] = curl(with_token, dir_ + "/ok.json");
  ASSERT_EQ(code, 0) << log;
  EXPECT_EQ(log, "200");
  EXPECT_THAT(Read(dir_ + "/ok.json"), HasSubstr("\"nodeId\":\"test-master\""));
  // A verified certificate without a token: 401, as the Gate answers.
  std::tie(code, log) = curl(client_cert, dir_ + "/no-token.json");
  EXPECT_EQ(log, "401");
  // No client certificate: the handshake fails (curl exits non-zero).
  std::tie(code, log) = curl({"-H", "Authorization: Bearer x"}, dir_ + "/no-cert.json");
  EXPECT_NE(code, 0) << log;
  // A certificate from another CA: refused as well.
  std::tie(code, log) =
      curl({"--cert", dir_ + "/rogue-pki/rogue.crt", "--key", dir_ + "/rogue-pki/rogue.key"},
           dir_ + "/rogue.json");
  EXPECT_NE(code, 0) << log;
  // Plain HTTP on the HTTPS port is not served.
  std::vector<std::string> plain = {"/usr/bin/curl",
                                    "-sS",
                                    "-o",
                                    dir_ + "/plain.out",
                                    "-w",
                                    "%{http_code}",
                                    absl::StrCat("http://127.0.0.1:", *port, "/healthz")};
  EXPECT_NE(RunToEnd(plain, dir_ + "/plain.log"), 0) << Read(dir_ + "/plain.log");
  // The gateway's own loopback listener, reached directly, skips TLS: refused.
  const std::string log_text = Read(dir_ + "/master.log");
  const std::string marker = "relayed to the HTTP entry on 127.0.0.1:";
  const size_t at = log_text.find(marker);
  ASSERT_NE(at, std::string::npos) << log_text;
  const int backend = std::atoi(log_text.c_str() + at + marker.size());
  ASSERT_GT(backend, 0);
  std::vector<std::string> direct = {
      "/usr/bin/curl",
      "-sS",
      "-o",
      dir_ + "/direct.out",
      "-w",
      "%{http_code}",
      "-H",
      absl::StrCat("Authorization: Bearer ", testing::kAdminToken),
      "-d",
      "{}",
      absl::StrCat("http://127.0.0.1:", backend, "/v1/fsched.v1.Admin/GetLoad")};
  EXPECT_EQ(RunToEnd(direct, dir_ + "/direct.log"), 0) << Read(dir_ + "/direct.log");
  EXPECT_EQ(Read(dir_ + "/direct.log"), "403");
  EXPECT_THAT(Read(dir_ + "/direct.out"), HasSubstr("connect over HTTPS"));
  // Many calls over one kept-alive HTTPS connection (the relay pumps both ways).
  std::vector<std::string> many = {"/usr/bin/curl",  "-sS", "--cacert", pki_ + "/ca.crt", "-w",
                                   "%{http_code}\n", "-o",  "/dev/null"};
  many.insert(many.end(), with_token.begin(), with_token.end());
  many.insert(many.end(), {"-d", "{}"});
  for (int i = 0; i < 5; ++i) many.push_back(url);  // curl reuses the connection
  EXPECT_EQ(RunToEnd(many, dir_ + "/many.log"), 0) << Read(dir_ + "/many.log");
  // (-o names the first answer's file; the others print before their codes.)
  const std::vector<std::string> lines = absl::StrSplit(Read(dir_ + "/many.log"), '\n');
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "200"), 5) << Read(dir_ + "/many.log");
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
