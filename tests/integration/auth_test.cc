// The attacker's view of a live cluster (a real master and worker): every
// method of every fsched service, called without a token, with an unknown or
// revoked one, and with each role, answers UNAUTHENTICATED or
// PERMISSION_DENIED exactly as its (fsched.v1.access) declares; an outsider
// cannot redirect a worker; health and reflection answer with credentials.
#include "common/auth.h"

#include <grpcpp/generic/generic_stub.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "fsched/v1/auth.grpc.pb.h"
#include "fsched/v1/worker.grpc.pb.h"
#include "tests/integration/cluster_fixture.h"

namespace fsched {
namespace {

// One call of any shape (unary or streaming: on the wire each is a stream):
// one empty request message, then half-close; the status is what counts.
class AnyCall final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  grpc::Status Run(grpc::GenericStub* stub, const std::string& path,
                   const std::optional<std::string>& bearer) {
    ctx_.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(3)));
    if (bearer.has_value()) ctx_.AddMetadata("authorization", "Bearer " + *bearer);
    grpc::Slice empty("");
    request_ = grpc::ByteBuffer(&empty, 1);
    stub->PrepareBidiStreamingCall(&ctx_, path, grpc::StubOptions(), this);
    StartWriteLast(&request_, grpc::WriteOptions());
    StartRead(&response_);
    StartCall();
    done_.WaitForNotification();
    return status_;
  }
  void OnReadDone(bool ok) override {
    if (ok) StartRead(&response_);
  }
  void OnDone(const grpc::Status& status) override {
    status_ = status;
    done_.Notify();
  }

 private:
  grpc::ClientContext ctx_;
  grpc::ByteBuffer request_, response_;
  grpc::Status status_;
  absl::Notification done_;
};

struct Caller {
  std::string label;
  std::optional<std::string> bearer;     // nullopt: no authorization header at all
  v1::Role role = v1::ROLE_UNSPECIFIED;  // UNSPECIFIED: not a valid credential
};

std::vector<const google::protobuf::MethodDescriptor*> MethodsOf(
    const std::vector<std::string>& services) {
  std::vector<const google::protobuf::MethodDescriptor*> methods;
  for (const std::string& name : services) {
    const auto* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
    EXPECT_NE(service, nullptr) << name;
    if (service == nullptr) continue;
    for (int m = 0; m < service->method_count(); ++m) methods.push_back(service->method(m));
  }
  return methods;
}

class AuthTest : public ClusterTest {
 protected:
  std::string CreateToken(const std::string& name, v1::Role role, const v1::RateLimit& rate = {}) {
    auto tokens = v1::Tokens::NewStub(channel_);
    grpc::ClientContext ctx;
    v1::CreateTokenRequest req;
    req.set_name(name);
    req.set_role(role);
    *req.mutable_rate() = rate;
    v1::CreatedToken created;
    const grpc::Status s = tokens->CreateToken(&ctx, req, &created);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return created.token();
  }

  void RevokeToken(const std::string& name) {
    auto tokens = v1::Tokens::NewStub(channel_);
    grpc::ClientContext ctx;
    v1::RevokeTokenRequest req;
    req.set_name(name);
    v1::TokenInfo info;
    const grpc::Status s = tokens->RevokeToken(&ctx, req, &info);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(info.has_revoked());
  }

  // Until the worker accepts `bearer` for GetStatus (the master pushes tokens
  // to its workers after each change) or, with accepted = false, refuses it.
  void AwaitWorkerSees(const std::string& bearer, bool accepted) {
    auto worker = v1::Worker::NewStub(MakeChannel(WorkerAddress()));
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      grpc::ClientContext ctx;
      ctx.AddMetadata("authorization", "Bearer " + bearer);
      v1::WorkerStatus status;
      if (worker->GetStatus(&ctx, v1::GetStatusRequest(), &status).ok() == accepted) return;
      absl::SleepFor(absl::Milliseconds(20));
    }
    FAIL() << "the worker never " << (accepted ? "accepted" : "refused") << " the token";
  }

  std::string WorkerAddress() { return absl::StrCat("127.0.0.1:", worker_ports_["w1"]); }

  // Every method at `target`, by every caller: the code the declaration implies.
  void ExpectEveryMethodGuarded(const std::string& target, const std::vector<std::string>& services,
                                const std::vector<Caller>& callers) {
    // A bare channel: the fixture's token (MakeChannel's) is never added.
    grpc::GenericStub stub(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
    const auto methods = MethodsOf(services);
    ASSERT_FALSE(methods.empty());
    for (const google::protobuf::MethodDescriptor* method : methods) {
      const v1::Access access = method->options().GetExtension(v1::access);
      ASSERT_NE(access, v1::ACCESS_UNSPECIFIED) << method->full_name() << " declares no access";
      const std::string path =
          absl::StrCat("/", method->service()->full_name(), "/", method->name());
      for (const Caller& caller : callers) {
        const grpc::Status status = AnyCall().Run(&stub, path, caller.bearer);
        const std::string where =
            absl::StrCat(target, path, " as ", caller.label, ": ", status.error_message());
        if (caller.role == v1::ROLE_UNSPECIFIED) {
          EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << where;
        } else if (!RoleAllows(caller.role, access)) {
          EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << where;
        } else {
          EXPECT_NE(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << where;
          EXPECT_NE(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << where;
        }
      }
    }
  }
};

TEST_F(AuthTest, EveryMethodAnswersAsItsAccessDeclares) {
  StartMaster();
  StartWorker("w1", 1);
  WaitForReady({"w1"});
  const std::string invoker = CreateToken("inv", v1::ROLE_INVOKER);
  const std::string developer = CreateToken("dev", v1::ROLE_DEVELOPER);
  const std::string revoked = CreateToken("gone", v1::ROLE_ADMIN);
  RevokeToken("gone");
  AwaitWorkerSees(developer, true);
  AwaitWorkerSees(revoked, false);

  const std::vector<Caller> callers = {
      {"no header", std::nullopt, v1::ROLE_UNSPECIFIED},
      {"an empty bearer", "", v1::ROLE_UNSPECIFIED},
      {"an unknown token", "fsched_not-a-token", v1::ROLE_UNSPECIFIED},
      {"a revoked admin token", revoked, v1::ROLE_UNSPECIFIED},
      {"an invoker", invoker, v1::ROLE_INVOKER},
      {"a developer", developer, v1::ROLE_DEVELOPER},
      {"the admin", testing::kAdminToken, v1::ROLE_ADMIN},
      {"the cluster", kToken, v1::ROLE_CLUSTER},
  };
  ExpectEveryMethodGuarded(master_address_,
                           {"fsched.v1.Controller", "fsched.v1.Cluster", "fsched.v1.Admin",
                            "fsched.v1.WorkerLink", "fsched.v1.Tokens"},
                           callers);
  ExpectEveryMethodGuarded(WorkerAddress(), {"fsched.v1.Worker", "fsched.v1.Admin"}, callers);
}

TEST_F(AuthTest, AnOutsiderCannotRedirectAWorkerAndMessagesSayWhatIsMissing) {
  StartMaster();
  StartWorker("w1", 1);
  WaitForReady({"w1"});
  auto worker =
      v1::Worker::NewStub(grpc::CreateChannel(WorkerAddress(), grpc::InsecureChannelCredentials()));
  v1::JoinRequest join;
  join.set_master_address("127.0.0.1:1");
  join.set_join_token("attacker");
  for (const std::optional<std::string>& bearer :
       {std::optional<std::string>(), std::optional<std::string>(testing::kAdminToken)}) {
    grpc::ClientContext ctx;
    if (bearer) ctx.AddMetadata("authorization", "Bearer " + *bearer);
    v1::JoinResponse resp;
    const grpc::Status s = worker->Join(&ctx, join, &resp);
    if (!bearer) {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
      EXPECT_THAT(s.error_message(), HasSubstr("authorization: Bearer"));
    } else {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
      EXPECT_THAT(s.error_message(), HasSubstr("cluster"));
    }
  }
  // The worker still serves its master, which still lists it ready.
  absl::SleepFor(absl::Milliseconds(300));
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", absl::StrCat("Bearer ", kToken));
  v1::WorkerStatus status;
  ASSERT_TRUE(worker->GetStatus(&ctx, v1::GetStatusRequest(), &status).ok());
  EXPECT_EQ(status.master_address(), master_address_);
  EXPECT_TRUE(status.connected());
  EXPECT_TRUE(workers_["w1"]->running());

  // A developer registers; an invoker may not, and is told which role it lacks.
  const std::string invoker = CreateToken("reader", v1::ROLE_INVOKER);
  grpc::ClientContext rctx;
  rctx.AddMetadata("authorization", "Bearer " + invoker);
  v1::RegisterFunctionRequest reg;
  reg.mutable_spec()->set_name("evil");
  reg.mutable_spec()->add_command("id");
  v1::Function f;
  const grpc::Status refused = controller_->RegisterFunction(&rctx, reg, &f);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(refused.error_message(), HasSubstr("'reader' has role invoker"));
  EXPECT_THAT(refused.error_message(), HasSubstr("developer or admin"));

  // Fields only fsched nodes set are refused from a client, even an admin.
  for (const bool route : {false, true}) {
    grpc::ClientContext ictx;
    v1::InvokeRequest forged;
    forged.set_function("evil");
    if (route) {
      forged.add_route("test-master");
    } else {
      forged.set_hops(3);
    }
    v1::InvocationResult result;
    const grpc::Status s = controller_->Invoke(&ictx, forged, &result);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("hops and route are set by fsched nodes"));
  }

  // Token names are checked, and never reused.
  auto tokens = v1::Tokens::NewStub(channel_);
  for (const auto& [name, role, code] :
       std::vector<std::tuple<std::string, v1::Role, grpc::StatusCode>>{
           {"Bad Name", v1::ROLE_INVOKER, grpc::StatusCode::INVALID_ARGUMENT},
           {"cluster", v1::ROLE_INVOKER, grpc::StatusCode::INVALID_ARGUMENT},
           {"ok-name", v1::ROLE_CLUSTER, grpc::StatusCode::INVALID_ARGUMENT},
           {"reader", v1::ROLE_ADMIN, grpc::StatusCode::ALREADY_EXISTS}}) {
    grpc::ClientContext tctx;
    v1::CreateTokenRequest req;
    req.set_name(name);
    req.set_role(role);
    v1::CreatedToken created;
    EXPECT_EQ(tokens->CreateToken(&tctx, req, &created).error_code(), code) << name;
  }
}

TEST_F(AuthTest, TokensSurviveARestartAndRevokedOnesStayRevoked) {
  StartMaster();
  const std::string kept = CreateToken("kept", v1::ROLE_INVOKER);
  const std::string dropped = CreateToken("dropped", v1::ROLE_INVOKER);
  RevokeToken("dropped");
  master_.reset();
  StartMaster();
  auto tokens = v1::Tokens::NewStub(channel_);
  for (const auto& [bearer, code] : std::vector<std::pair<std::string, grpc::StatusCode>>{
           {kept, grpc::StatusCode::OK}, {dropped, grpc::StatusCode::UNAUTHENTICATED}}) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + bearer);
    v1::Identity me;
    const grpc::Status s = tokens->WhoAmI(&ctx, v1::WhoAmIRequest(), &me);
    EXPECT_EQ(s.error_code(), code) << s.error_message();
    if (s.ok()) {
      EXPECT_EQ(me.name(), "kept");
      EXPECT_EQ(me.role(), v1::ROLE_INVOKER);
    }
  }
  // The list shows both, the revoked one with its time; the hash is never shown.
  grpc::ClientContext lctx;
  v1::ListTokensResponse list;
  ASSERT_TRUE(tokens->ListTokens(&lctx, v1::ListTokensRequest(), &list).ok());
  std::map<std::string, bool> revoked;
  for (const v1::TokenInfo& t : list.tokens()) revoked[t.name()] = t.has_revoked();
  EXPECT_EQ(revoked,
            (std::map<std::string, bool>{{"admin", false}, {"kept", false}, {"dropped", true}}));
  EXPECT_EQ(list.DebugString().find(TokenSha256(kept)), std::string::npos);
}

// A function is nobody: not root, and nothing of the worker's or the master's
// secrets is in its reach (files, command lines, environment).
// The retry hint of a refusal, from its trailing metadata (-1 when absent).
int64_t RetryAfterMs(const grpc::ClientContext& ctx) {
  const auto& trailers = ctx.GetServerTrailingMetadata();
  const auto it = trailers.find(kRetryAfterTrailer);
  int64_t ms = -1;
  if (it != trailers.end() &&
      !absl::SimpleAtoi(absl::string_view(it->second.data(), it->second.size()), &ms)) {
    return -2;
  }
  return ms;
}

TEST_F(AuthTest, QuotasRefuseWithRetryHints) {
  StartMaster();
  StartWorker("w1", 2);
  WaitForReady({"w1"});
  // A token's rate holds on the master...
  v1::RateLimit two;
  two.set_requests_per_second(2);
  two.set_burst(2);
  const std::string limited = CreateToken("limited", v1::ROLE_INVOKER, two);
  auto tokens = v1::Tokens::NewStub(channel_);
  std::vector<grpc::StatusCode> codes;
  int64_t hint = -1;
  std::string message;
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + limited);
    v1::Identity me;
    const grpc::Status s = tokens->WhoAmI(&ctx, v1::WhoAmIRequest(), &me);
    codes.push_back(s.error_code());
    if (!s.ok()) {
      hint = RetryAfterMs(ctx);
      message = s.error_message();
    } else {
      EXPECT_EQ(me.rate().requests_per_second(), 2);
    }
  }
  EXPECT_EQ(codes, (std::vector<grpc::StatusCode>{grpc::StatusCode::OK, grpc::StatusCode::OK,
                                                  grpc::StatusCode::RESOURCE_EXHAUSTED}));
  EXPECT_GT(hint, 0);
  EXPECT_LE(hint, 500);
  EXPECT_THAT(message, HasSubstr("'limited' may make 2 requests per second"));
  EXPECT_THAT(message, HasSubstr("retry in"));
  // ...and on every worker that serves it (each node keeps its own buckets).
  v1::RateLimit one;
  one.set_requests_per_second(1);
  one.set_burst(1);
  const std::string slow = CreateToken("slow", v1::ROLE_INVOKER, one);
  AwaitWorkerSees(slow, true);  // takes this second's request
  {
    auto worker = v1::Worker::NewStub(MakeChannel(WorkerAddress()));
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + slow);
    v1::WorkerStatus status;
    const grpc::Status s = worker->GetStatus(&ctx, v1::GetStatusRequest(), &status);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
    EXPECT_GT(RetryAfterMs(ctx), 0);
  }
  // The rate a token is created with is checked, and listed.
  {
    grpc::ClientContext ctx;
    v1::CreateTokenRequest req;
    req.set_name("negative");
    req.set_role(v1::ROLE_INVOKER);
    req.mutable_rate()->set_requests_per_second(-5);
    v1::CreatedToken created;
    EXPECT_EQ(tokens->CreateToken(&ctx, req, &created).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }

  // A function's max_concurrency counts what is queued or running.
  v1::RegisterFunctionRequest reg;
  reg.mutable_spec()->set_name("single");
  reg.mutable_spec()->add_command("sleep");
  reg.mutable_spec()->add_command("5");
  reg.mutable_spec()->set_max_concurrency(1);
  {
    grpc::ClientContext ctx;
    v1::Function f;
    ASSERT_TRUE(controller_->RegisterFunction(&ctx, reg, &f).ok());
  }
  const std::string first = Submit("single");
  for (const bool sync : {false, true}) {
    v1::InvokeRequest req;
    req.set_function("single");
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    grpc::Status s;
    if (sync) {
      v1::InvocationResult result;
      s = controller_->Invoke(&ctx, req, &result);
    } else {
      v1::SubmitResponse resp;
      s = controller_->Submit(&ctx, req, &resp);
    }
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << sync;
    EXPECT_THAT(s.error_message(), HasSubstr("max_concurrency"));
    EXPECT_GT(RetryAfterMs(ctx), 0) << sync;
  }
  // Once the one in flight is gone, the next is accepted.
  {
    grpc::ClientContext ctx;
    v1::CancelInvocationRequest req;
    req.set_invocation_id(first);
    v1::Invocation inv;
    ASSERT_TRUE(controller_->CancelInvocation(&ctx, req, &inv).ok());
  }
  EXPECT_EQ(Wait(first).state(), v1::INVOCATION_STATE_DONE);
  EXPECT_FALSE(Submit("single").empty());
}

// The receive limit is the payload limit plus 1 MiB, on the master and on a
// worker's entry, and results are cut to what the master reads.
TEST_F(AuthTest, OversizedMessagesAreRefusedAtTheDoor) {
  StartMaster("scheduler: {max_payload_bytes: 64KiB}\n");
  const std::string worker_config = dir_ + "/worker.yaml";
  testing::WriteFile(worker_config,
                     "worker: {output_limit_bytes: 4MiB, max_payload_bytes: 64KiB}\n");
  worker_flags_ = {"--config", worker_config};
  StartWorker("w1", 1);
  WaitForReady({"w1"});
  ASSERT_TRUE(Register("cat", {"cat"}).ok());
  ASSERT_TRUE(Register("flood", {"sh", "-c", "head -c 3000000 /dev/zero | tr '\\0' x"}).ok());

  v1::InvocationResult result;
  // Above the payload limit, within the message limit: the controller names the key.
  grpc::Status s = Invoke("cat", std::string(100 << 10, 'p'), &result);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("scheduler.max_payload_bytes"));
  // Above the message limit: refused by the server before any handler.
  s = Invoke("cat", std::string(2 << 20, 'p'), &result);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  // Within both: it runs.
  ASSERT_TRUE(Invoke("cat", std::string(60 << 10, 'p'), &result).ok());
  EXPECT_EQ(result.stdout().size(), 60u << 10);
  // 3 MB of output, allowed by the worker (4 MiB), cut to the master's 1.06 MiB.
  ASSERT_TRUE(Invoke("flood", "", &result).ok());
  EXPECT_EQ(result.outcome(), v1::OUTCOME_OK) << result.message();
  EXPECT_TRUE(result.stdout_truncated());
  EXPECT_GT(result.stdout().size(), 1u << 20);
  EXPECT_LE(result.stdout().size(), (1u << 20) + (64u << 10));
  // The worker's own entry reads no more than its limit either.
  auto worker = v1::Worker::NewStub(MakeChannel(WorkerAddress()));
  grpc::ClientContext ctx;
  v1::InvokeRequest big;
  big.set_function("cat");
  big.set_payload(std::string(2 << 20, 'p'));
  s = worker->Invoke(&ctx, big, &result);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  // The master is still there for the next caller.
  ASSERT_TRUE(Invoke("cat", "still here", &result).ok());
  EXPECT_EQ(result.stdout(), "still here");
}

// Peak resident memory of a process, from /proc/<pid>/status (VmHWM).
uint64_t PeakResidentBytes(pid_t pid) {
  const std::string status = testing::ReadFile(absl::StrCat("/proc/", pid, "/status"));
  const size_t at = status.find("VmHWM:");
  uint64_t kib = 0;
  if (at != std::string::npos) {
    const size_t end = status.find('\n', at);
    absl::string_view value =
        absl::StripAsciiWhitespace(absl::string_view(status).substr(at + 6, end - at - 6));
    absl::ConsumeSuffix(&value, " kB");
    EXPECT_TRUE(absl::SimpleAtoi(value, &kib)) << value;
  }
  return kib << 10;
}

// gRPC 1.51 checks a message's size only once it has it whole; the server's
// memory quota (at least 128 MiB) resets a stream that would hold more, so a
// message far beyond it is never read in full.
TEST_F(AuthTest, AMessageBeyondTheMemoryQuotaIsResetBeforeItIsReadWhole) {
  StartMaster("scheduler: {max_payload_bytes: 64KiB}\n");
  // 1 GiB: the quota holds the master near 128 MiB of it (151 MiB peak RSS
  // measured; about 280 MiB under ASan, whose shadow and quarantine count too).
  constexpr uint64_t kHuge = 1ull << 30;
  v1::InvocationResult result;
  const grpc::Status s = Invoke("cat", std::string(kHuge, 'p'), &result);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  const uint64_t peak = PeakResidentBytes(master_->pid());
  EXPECT_LT(peak, kHuge / 2) << "the master held " << (peak >> 20) << " MiB";
  ASSERT_TRUE(Register("cat", {"cat"}).ok());  // and it answers the next caller
}

TEST_F(AuthTest, AFunctionRunsUnprivilegedAndCannotReachTheClustersSecrets) {
  if (::geteuid() != 0) GTEST_SKIP() << "switching users needs a root worker";
  StartMaster();
  StartWorker("w1", 1);
  WaitForReady({"w1"});
  struct Probe {
    std::string name, script, must_not_contain;
    bool must_fail;
  };
  const std::vector<Probe> probes = {
      {"whoami", "id -u; id -G", "0", false},
      {"shadow", "head -c 40 /etc/shadow", "root:", true},
      {"worker-state", "ls " + dir_ + "/worker-state", "rootfs-cache", true},
      {"master-state", "ls " + dir_ + "/state", "fsched.db", true},
      {"admin-token", "cat " + dir_ + "/state/admin.token", testing::kAdminToken, true},
      {"join-token", "cat " + dir_ + "/cluster.token " + dir_ + "/w1.token", kToken, true},
      {"command-lines", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '", kToken, false},
      {"environment", "env", kToken, false},
  };
  for (const Probe& probe : probes) {
    ASSERT_TRUE(Register(probe.name, {"sh", "-c", probe.script}).ok()) << probe.name;
    v1::InvocationResult result;
    ASSERT_TRUE(Invoke(probe.name, "", &result).ok()) << probe.name;
    const std::string seen = result.stdout() + result.stderr();
    if (probe.name == "whoami") {
      EXPECT_EQ(result.stdout(), "65534\n65534\n");
    } else {
      EXPECT_EQ(seen.find(probe.must_not_contain), std::string::npos) << probe.name << ": " << seen;
    }
    EXPECT_EQ(result.outcome() != v1::OUTCOME_OK, probe.must_fail) << probe.name << ": " << seen;
  }
}

TEST_F(AuthTest, AWorkerRefusesAFunctionUserThatOwnsItsState) {
  if (::geteuid() != 0) GTEST_SKIP() << "switching users needs a root worker";
  const std::string state = dir_ + "/owned-state";
  std::filesystem::create_directories(state);
  ASSERT_EQ(::chown(state.c_str(), 65534, 65534), 0);
  const std::string log = dir_ + "/owned.log";
  auto worker = testing::Process::Start(
      {FSCHED_WORKER_BIN, "--node_id", "owned", "--listen", "127.0.0.1:0", "--state_dir", state,
       "--join_token_file", TokenFile("owned", kToken)},
      log);
  ASSERT_TRUE(worker.ok()) << worker.status();
  const std::optional<int> code = (*worker)->Wait(absl::Seconds(20));
  ASSERT_TRUE(code.has_value()) << "the worker started on a state directory functions own";
  EXPECT_NE(*code, 0);
  const std::string said = testing::ReadFile(log);
  EXPECT_NE(said.find("owns the worker's state directory"), std::string::npos) << said;
}

}  // namespace
}  // namespace fsched
