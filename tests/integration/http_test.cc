// The HTTP/JSON entry against a live master and worker, driven by the real
// curl binary as its users drive it.
#include <google/protobuf/descriptor.h>
#include <grpcpp/generic/generic_stub.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "http/http_status.h"
#include "tests/integration/cluster_fixture.h"

namespace fsched {
namespace {

// Debian's curl (scripts/setup.sh installs it).
constexpr char kCurl[] = "/usr/bin/curl";

struct CurlReply {
  int status = 0;                              // 0: curl itself failed (see body)
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

class HttpTest : public ClusterTest {
 protected:
  void StartHttpMaster(const std::string& extra = "") {
    ASSERT_EQ(access(kCurl, X_OK), 0) << kCurl << " is missing: run scripts/setup.sh";
    StartMaster(absl::StrCat("http: {listen: 127.0.0.1:0, port_file: ", dir_,
                             "/master.http-port}\n", extra));
    auto port = testing::WaitForPortFile(dir_ + "/master.http-port", master_.get());
    ASSERT_TRUE(port.ok()) << port.status();
    base_ = absl::StrCat("http://127.0.0.1:", *port);
  }

  // curl -X METHOD base_+path, with the admin token unless `token` says otherwise
  // ("" = no Authorization header).
  CurlReply Curl(const std::string& method, const std::string& path,
                 const std::optional<std::string>& body = std::nullopt,
                 const std::string& token = testing::kAdminToken,
                 const std::vector<std::string>& extra_headers = {},
                 const std::vector<std::string>& extra_args = {}) {
    const std::string n = std::to_string(++curls_);
    const std::string headers = dir_ + "/curl-" + n + ".headers";
    const std::string out = dir_ + "/curl-" + n + ".body";
    std::vector<std::string> argv = {kCurl, "-sS", "-X", method,         "-D",        headers,
                                     "-o",  out,   "-w", "%{http_code}", base_ + path};
    if (!token.empty()) argv.insert(argv.end(), {"-H", "Authorization: Bearer " + token});
    for (const std::string& h : extra_headers) argv.insert(argv.end(), {"-H", h});
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    if (body) {
      const std::string in = dir_ + "/curl-" + n + ".request";
      testing::WriteFile(in, *body);
      argv.insert(argv.end(), {"--data-binary", "@" + in});
    }
    const std::string log = dir_ + "/curl-" + n + ".log";
    auto process = testing::Process::Start(argv, log);
    CurlReply reply;
    if (!process.ok() || (*process)->Wait(absl::Seconds(60)).value_or(-1) != 0) {
      reply.body = testing::ReadFile(log);
      return reply;
    }
    reply.status = std::atoi(testing::ReadFile(log).c_str());
    for (absl::string_view line : absl::StrSplit(testing::ReadFile(headers), "\r\n")) {
      const size_t colon = line.find(':');
      if (colon == absl::string_view::npos) continue;
      reply.headers[absl::AsciiStrToLower(line.substr(0, colon))] =
          std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
    }
    reply.body = testing::ReadFile(out);
    return reply;
  }

  std::string base_;
  int curls_ = 0;
};

TEST_F(HttpTest, InvokesFunctionsByUrlSynchronouslyAndNot) {
  StartHttpMaster();
  StartWorker("w1", 2);
  WaitForReady({"w1"});
  ASSERT_TRUE(Register("shout", {"tr", "a-z", "A-Z"}).ok());
  ASSERT_TRUE(Register("fail", {"sh", "-c", "echo oops >&2; exit 4"}).ok());

  CurlReply r = Curl("POST", "/function/shout", "hello");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "HELLO");
  EXPECT_EQ(r.headers["x-fsched-worker"], "w1");
  EXPECT_EQ(r.headers["x-fsched-outcome"], "ok");
  EXPECT_EQ(r.headers["x-fsched-mode"], "cold");
  EXPECT_THAT(r.headers["x-fsched-invocation-id"], ::testing::StartsWith("inv-"));
  EXPECT_THAT(r.headers["server-timing"], HasSubstr("execution;dur="));

  // The function's own failure is a 502 with its outcome and stderr.
  r = Curl("POST", "/function/fail", "");
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.headers["x-fsched-outcome"], "nonzero_exit");
  EXPECT_EQ(r.headers["x-fsched-exit-code"], "4");
  EXPECT_THAT(r.body, HasSubstr("oops"));

  // Asynchronous: 202 with the id, then the invocation, waited for.
  r = Curl("POST", "/async-function/shout", "later");
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string id = r.headers["x-fsched-invocation-id"];
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(r.headers["location"], "/invocations/" + id);
  EXPECT_THAT(r.body, HasSubstr(id));
  r = Curl("GET", "/invocations/" + id + "?wait=20s");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr("\"state\":\"INVOCATION_STATE_DONE\""));
  EXPECT_THAT(r.body, HasSubstr("\"stdout\":\"TEFURVI=\""));  // base64 of LATER
  r = Curl("GET", "/invocations/" + id);
  EXPECT_EQ(r.status, 200) << r.body;

  // What the caller got wrong, each with its status and a JSON reason.
  r = Curl("POST", "/function/nobody", "x");
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(r.body, HasSubstr("\"status\":\"NOT_FOUND\""));
  EXPECT_THAT(r.body, HasSubstr("'nobody' is not registered"));
  r = Curl("GET", "/function/shout");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers["allow"], "POST");
  r = Curl("PUT", "/invocations/" + id);
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers["allow"], "GET, DELETE");
  r = Curl("GET", "/invocations/" + id + "?wait=soon");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("not a duration"));
  r = Curl("GET", "/invocations/inv-none");
  EXPECT_EQ(r.status, 404);
  r = Curl("GET", "/nowhere");
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(r.body, HasSubstr("POST /function/{name}"));
  // The same authentication as gRPC: no token, a wrong one.
  r = Curl("POST", "/function/shout", "x", "");
  EXPECT_EQ(r.status, 401);
  EXPECT_THAT(r.body, HasSubstr("Bearer"));
  r = Curl("POST", "/function/shout", "x", "fsched_not-a-token");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(Curl("GET", "/healthz", std::nullopt, "").status, 200);
}

// A synchronous call the master accepted and could not answer (it stopped)
// says which invocation it was; after the restart that id is answered.
TEST_F(HttpTest, ASynchronousCallCutShortNamesItsInvocation) {
  StartHttpMaster();
  ASSERT_TRUE(Register("unplaced", {"true"}).ok());  // no worker: it stays queued
  CurlReply cut;
  std::thread caller([&] { cut = Curl("POST", "/function/unplaced", "x"); });
  absl::SleepFor(absl::Milliseconds(500));
  master_->Signal(SIGTERM);
  ASSERT_EQ(master_->Wait(absl::Seconds(20)), 0);
  caller.join();
  EXPECT_EQ(cut.status, 503) << cut.body;
  const std::string id = cut.headers["x-fsched-invocation-id"];
  ASSERT_THAT(id, ::testing::StartsWith("inv-")) << cut.body;
  EXPECT_EQ(cut.headers["location"], "/invocations/" + id);
  EXPECT_THAT(cut.body, HasSubstr("was accepted: GET /invocations/" + id));

  master_listen_ = master_address_;
  StartHttpMaster();
  CurlReply r = Curl("GET", "/invocations/" + id);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr("\"state\":\"INVOCATION_STATE_QUEUED\""));
}

TEST_F(HttpTest, RefusesABodyOverThePayloadLimit) {
  StartHttpMaster("scheduler: {max_payload_bytes: 1024}\n");
  ASSERT_TRUE(Register("shout", {"tr", "a-z", "A-Z"}).ok());
  // The limit is the payload limit plus the 1 MiB envelope, as for gRPC.
  const CurlReply r = Curl("POST", "/function/shout", std::string((1 << 20) + 2048, 'x'));
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_THAT(r.body, HasSubstr("scheduler.max_payload_bytes"));
  // Nothing was accepted: the master knows of no invocation.
  EXPECT_EQ(Curl("POST", "/v1/fsched.v1.Admin/GetLoad", "{}").body.find("\"queued\":\"1\""),
            std::string::npos);
}

// Every unary method of the Controller and Admin answers over HTTP exactly as
// over gRPC: an empty request through both, the same status (as HTTP's code).
TEST_F(HttpTest, EveryUnaryControllerAndAdminMethodAnswersAsOverGrpc) {
  StartHttpMaster();
  StartWorker("w1", 1);
  WaitForReady({"w1"});
  grpc::GenericStub generic(channel_);
  const google::protobuf::DescriptorPool* pool = google::protobuf::DescriptorPool::generated_pool();
  int compared = 0;
  for (const char* name : {"fsched.v1.Controller", "fsched.v1.Admin"}) {
    const google::protobuf::ServiceDescriptor* service = pool->FindServiceByName(name);
    ASSERT_NE(service, nullptr) << name;
    for (int i = 0; i < service->method_count(); ++i) {
      const google::protobuf::MethodDescriptor* method = service->method(i);
      const std::string path = absl::StrCat("/v1/", name, "/", method->name());
      SCOPED_TRACE(path);
      const CurlReply r = Curl("POST", path, "{}");
      if (method->client_streaming() || method->server_streaming()) {
        EXPECT_EQ(r.status, 501) << r.body;
        EXPECT_THAT(r.body, HasSubstr("use fschedctl"));
        continue;
      }
      grpc::ClientContext ctx;
      ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
      grpc::Slice nothing;
      grpc::ByteBuffer empty(&nothing, 1), out;
      grpc::Status status;
      absl::Notification done;
      generic.UnaryCall(&ctx, absl::StrCat("/", name, "/", method->name()), grpc::StubOptions(),
                        &empty, &out, [&](grpc::Status s) {
                          status = std::move(s);
                          done.Notify();
                        });
      done.WaitForNotification();
      EXPECT_EQ(r.status, http::HttpStatusFor(static_cast<absl::StatusCode>(status.error_code())))
          << r.body << " / gRPC: " << status.error_message();
      if (!status.ok()) {
        EXPECT_THAT(r.body, HasSubstr(absl::StrCat("\"code\":", status.error_code())));
      } else {
        EXPECT_EQ(r.body.front(), '{') << r.body;
      }
      ++compared;
    }
  }
  EXPECT_GE(compared, 20);

  // And what they do: a function registered in JSON, read back, invoked, listed.
  CurlReply r = Curl("POST", "/v1/fsched.v1.Controller/RegisterFunction",
                     R"({"spec": {"name": "echo", "command": ["cat"]}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr("\"version\":\"1\""));
  r = Curl("POST", "/v1/fsched.v1.Controller/Invoke",
           R"({"function": "echo", "payload": "aGk="})");  // "hi"
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr("\"outcome\":\"OUTCOME_OK\""));
  EXPECT_THAT(r.body, HasSubstr("\"stdout\":\"aGk=\""));
  r = Curl("POST", "/v1/fsched.v1.Controller/ListFunctions", "");
  EXPECT_THAT(r.body, HasSubstr("\"name\":\"echo\""));
  r = Curl("POST", "/v1/fsched.v1.Admin/GetLoad", "{}");
  EXPECT_THAT(r.body, HasSubstr("\"workersReady\":1"));

  // JSON that is not the request: 400 with the parser's message.
  r = Curl("POST", "/v1/fsched.v1.Controller/Invoke", R"({"function": "echo",)");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("not a JSON fsched.v1.InvokeRequest"));
  r = Curl("POST", "/v1/fsched.v1.Controller/Invoke", R"({"fucntion": "echo"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("fucntion"));
  EXPECT_EQ(Curl("POST", "/v1/fsched.v1.Controller/Frobnicate", "{}").status, 404);
  EXPECT_EQ(Curl("POST", "/v1/fsched.v1.Nothing/Invoke", "{}").status, 404);
  EXPECT_EQ(Curl("GET", "/v1/fsched.v1.Admin/GetLoad").status, 405);
  // Without a token: refused, whatever the method.
  EXPECT_EQ(Curl("POST", "/v1/fsched.v1.Admin/GetLoad", "{}", "").status, 401);
  EXPECT_EQ(Curl("POST", "/async-function/echo", "x", "").status, 401);
  EXPECT_EQ(Curl("GET", "/invocations/inv-none", std::nullopt, "").status, 401);
  // Admin-only methods refuse an invoker's token, as over gRPC.
  r = Curl("POST", "/v1/fsched.v1.Tokens/CreateToken", R"({"name": "ci", "role": "ROLE_INVOKER"})");
  ASSERT_EQ(r.status, 200) << r.body;
  const size_t at = r.body.find("\"token\":\"");
  ASSERT_NE(at, std::string::npos) << r.body;
  const std::string invoker = r.body.substr(at + 9, r.body.find('"', at + 9) - at - 9);
  EXPECT_EQ(Curl("POST", "/v1/fsched.v1.Admin/GetConfiguration", "{}", invoker).status, 403);
  EXPECT_EQ(Curl("POST", "/function/echo", "x", invoker).status, 200);
}

// Seed 001's and seed 003's endpoints, as their scripts call them.
TEST_F(HttpTest, TheSeedsEndpointsAnswerAsTheirScriptsCallThem) {
  StartHttpMaster();
  StartWorker("w1", 2);
  WaitForReady({"w1"});
  ASSERT_TRUE(Register("hello-world", {"tr", "a-z", "A-Z"}).ok());

  // Seed 001: /entry, with the hops, route and architecture as headers.
  CurlReply r =
      Curl("POST", "/entry",
           R"({"fn_name": "hello-world", "payload": "Hello FaaS!", "arch": "centralized"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "HELLO FAAS!");
  EXPECT_EQ(r.headers["x-hop-count"], "0");
  EXPECT_EQ(r.headers["x-architecture"], "centralized");
  EXPECT_EQ(r.headers["x-fsched-worker"], "w1");
  EXPECT_THAT(Curl("POST", "/entry", R"({"payload": "x"})").body,
              HasSubstr(R"(POST /entry needs \"fn_name\")"));
  EXPECT_EQ(Curl("POST", "/entry", R"({"fn_name": "nobody"})").status, 404);
  EXPECT_EQ(Curl("GET", "/entry").status, 405);
  // Hops are fsched's to count, as over gRPC.
  r = Curl("POST", "/entry", R"({"fn_name": "hello-world"})", testing::kAdminToken,
           {"X-Hop-Count: 2"});
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("X-Hop-Count is set by fsched"));
  r = Curl("GET", "/load");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr("\"workersReady\":1"));
  r = Curl("GET", "/arch_metrics");
  EXPECT_EQ(r.status, 200) << r.body;
  r = Curl("GET", "/configuration");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr("\"nodeId\":\"test-master\""));
  r = Curl("GET", "/durations?function=hello-world&limit=5");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr("\"function\":\"hello-world\""));
  r = Curl("POST", "/reload", R"({"architecture": "federated"})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr("ARCHITECTURE_FEDERATED"));
  EXPECT_EQ(Curl("POST", "/reload", R"({"architecture": "fastest"})").status, 400);
  EXPECT_EQ(Curl("POST", "/reload", R"({"architecture": "centralized"})").status, 200);
  r = Curl("POST", "/update_threshold", R"({"soft_d2f": 1.3})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr("\"softD2f\":1.3"));

  // Without a token the aliases are refused as the API they stand for.
  EXPECT_EQ(Curl("GET", "/load", std::nullopt, "").status, 401);
  EXPECT_EQ(Curl("POST", "/entry", R"({"fn_name": "hello-world"})", "").status, 401);
  EXPECT_EQ(Curl("POST", "/reload", R"({"architecture": "federated"})", "").status, 401);

  // Seed 003: tasks and workers.
  r = Curl("POST", "/controller/task/run",
           R"({"command": "./run", "task_id": "nope", "input_size": 1})");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(Curl("POST", "/controller/task/benchmark", R"({"task_id": "nope"})").status, 400);
  // A task's archive as a multipart form, as the seed's curl -F sends it.
  std::filesystem::create_directories(dir_ + "/task");
  testing::WriteFile(dir_ + "/task/run", "#!/bin/sh\necho ran\n");
  auto tar = testing::Process::Start(
      {"/bin/tar", "-C", dir_ + "/task", "-cf", dir_ + "/task.tar", "."}, dir_ + "/tar.log");
  ASSERT_TRUE(tar.ok());
  ASSERT_EQ((*tar)->Wait(absl::Seconds(30)), 0);
  const auto form = [&](const std::string& field) {
    return Curl("POST", "/controller/task/new", std::nullopt, testing::kAdminToken, {},
                {"-F", field});
  };
  r = form("file=@" + dir_ + "/task.tar");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr("\"taskId\":\"task-"));
  EXPECT_THAT(r.body, HasSubstr("\"name\":\"task.tar\""));
  r = form("file=@" + dir_ + "/task/run");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.body, HasSubstr("tar archive"));
  // Refused midway (the master checks the head of the stream): the rest of the
  // form is not read, and the answer still comes.
  testing::WriteFile(dir_ + "/big.bin", std::string(4 << 20, 'x'));
  r = form("file=@" + dir_ + "/big.bin");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.body, HasSubstr("tar archive"));
  r = form("other=x");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.body, HasSubstr("\\\"file\\\" field"));
  EXPECT_EQ(Curl("POST", "/controller/task/new", R"({"file": "x"})").status, 400);
  EXPECT_EQ(Curl("GET", "/controller/task/new").status, 405);
  EXPECT_EQ(Curl("POST", "/controller/task/new", std::nullopt, "", {},
                 {"-F", "file=@" + dir_ + "/task.tar"})
                .status,
            401);
  // /submit: an asynchronous call whose payload is the parameters as JSON.
  r = Curl("POST", "/submit",
           R"({"function_name": "hello-world", "parameters": {"arg1": "value1"}})");
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string submitted = r.headers["x-fsched-invocation-id"];
  EXPECT_EQ(r.headers["location"], "/invocations/" + submitted);
  r = Curl("GET", "/invocations/" + submitted + "?wait=20s");
  EXPECT_THAT(r.body, HasSubstr(absl::Base64Escape(R"({"ARG1":"VALUE1"})"))) << r.body;
  r = Curl("POST", "/submit", R"({"parameters": {}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("function_name"));
  EXPECT_EQ(Curl("POST", "/submit", R"({"function_name": "hello-world"})", "").status, 401);
  r = Curl("GET", "/cluster/workers");
  EXPECT_THAT(r.body, HasSubstr("\"id\":\"w1\""));
  StartWorker("idle", 1, kToken, "none");
  r = Curl("POST", "/cluster/worker/add",
           absl::StrCat(R"({"host": "127.0.0.1:)", worker_ports_["idle"], R"("})"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(Curl("GET", "/cluster/worker/list").body, HasSubstr("\"id\":\"idle\""));
  EXPECT_EQ(Curl("POST", "/cluster/worker/add", R"({"host": "127.0.0.1:1"})").status, 503);
}

// fsched-bench over HTTP drives the entry as it drives gRPC and records the
// same facts, read from the answer's headers: closed loop and open loop, a
// function that fails, a function that does not exist, and flags that cannot
// go together.
TEST_F(HttpTest, TheBenchDrivesTheHttpEntryAndRecordsWhatGrpcWould) {
  StartHttpMaster();
  StartWorker("w1", 2);
  WaitForReady({"w1"});
  ASSERT_TRUE(Register("shout", {"tr", "a-z", "A-Z"}).ok());
  ASSERT_TRUE(Register("fail", {"sh", "-c", "echo oops >&2; exit 4"}).ok());
  const std::string entry = std::string(absl::StripPrefix(base_, "http://"));
  const auto bench = [&](const std::string& name, std::vector<std::string> args) {
    args.insert(args.begin(), {FSCHED_BENCH_BIN, "--protocol", "http", "--entries", entry});
    auto process = testing::Process::Start(args, dir_ + "/" + name + ".log");
    EXPECT_TRUE(process.ok());
    return process.ok() ? (*process)->Wait(absl::Seconds(60)).value_or(-1) : -1;
  };

  ASSERT_EQ(bench("closed", {"--function", "shout", "--concurrency", "2", "--requests", "10",
                             "--payload", "call {i}", "--out", dir_ + "/closed"}),
            0)
      << testing::ReadFile(dir_ + "/closed.log");
  const std::string csv = testing::ReadFile(dir_ + "/closed/invocations.csv");
  std::vector<std::string> rows = absl::StrSplit(csv, '\n', absl::SkipEmpty());
  ASSERT_EQ(rows.size(), 11u) << csv;
  for (size_t i = 1; i < rows.size(); ++i) {
    // invocation id, worker, ..., mode, ..., outcome, exit code, attempts: from the headers.
    EXPECT_THAT(rows[i], ::testing::ContainsRegex(",inv-[^,]+,w1,"));
    EXPECT_THAT(rows[i], ::testing::ContainsRegex(",(cold|warm|prewarmed),"));
    EXPECT_THAT(rows[i], HasSubstr(",ok,0,1,"));
  }
  const std::string summary = testing::ReadFile(dir_ + "/closed/summary.txt");
  EXPECT_THAT(summary, HasSubstr("succeeded 10, function failed 0, rpc failed 0"));

  ASSERT_EQ(bench("open", {"--function", "shout", "--rates", "20", "--duration", "1s", "--max_lag",
                           "1s", "--out", dir_ + "/open"}),
            0)
      << testing::ReadFile(dir_ + "/open.log");
  EXPECT_THAT(testing::ReadFile(dir_ + "/open.log"), HasSubstr("rpc failed 0"));

  // A function that fails is answered (502) and recorded as its outcome.
  EXPECT_EQ(bench("fail", {"--function", "fail", "--concurrency", "1", "--requests", "2", "--out",
                           dir_ + "/fail"}),
            1);
  EXPECT_THAT(testing::ReadFile(dir_ + "/fail/invocations.csv"), HasSubstr(",nonzero_exit,4,"));
  EXPECT_THAT(testing::ReadFile(dir_ + "/fail.log"), HasSubstr("function failed 2"));

  // A call the entry refuses keeps gRPC's status and message.
  EXPECT_EQ(bench("missing", {"--function", "nobody", "--concurrency", "1", "--requests", "1"}), 1);
  EXPECT_THAT(testing::ReadFile(dir_ + "/missing.log"),
              HasSubstr("first failure: rpc: function 'nobody' is not registered"));

  // What HTTP cannot carry is refused before a call goes out.
  EXPECT_EQ(bench("args", {"--function", "shout", "--args", "x"}), 2);
  EXPECT_THAT(testing::ReadFile(dir_ + "/args.log"), HasSubstr("--args and --architecture"));
  auto no_entries = testing::Process::Start(
      {FSCHED_BENCH_BIN, "--protocol", "http", "--function", "shout"}, dir_ + "/no-entries.log");
  ASSERT_TRUE(no_entries.ok());
  EXPECT_EQ((*no_entries)->Wait(absl::Seconds(20)), 2);
  EXPECT_THAT(testing::ReadFile(dir_ + "/no-entries.log"), HasSubstr("--entries"));
}

// A worker's HTTP entry (seed 001's edge node): calls entering there are
// routed as the worker routes gRPC calls, its Admin answers for the worker,
// and what only masters serve is refused naming where to go.
TEST_F(HttpTest, AWorkersEntryRoutesCallsAndAnswersForTheWorker) {
  StartHttpMaster();
  worker_flags_ = {"--http_listen", "127.0.0.1:0", "--http_port_file", dir_ + "/w1.http-port"};
  StartWorker("w1", 2);
  WaitForReady({"w1"});
  ASSERT_TRUE(Register("shout", {"tr", "a-z", "A-Z"}).ok());
  const std::string master_base = base_;
  auto port = testing::WaitForPortFile(dir_ + "/w1.http-port", workers_["w1"].get());
  ASSERT_TRUE(port.ok()) << port.status();
  base_ = absl::StrCat("http://127.0.0.1:", *port);

  CurlReply r = Curl("POST", "/function/shout", "edge");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "EDGE");
  EXPECT_EQ(r.headers["x-fsched-worker"], "w1");
  r = Curl("POST", "/entry", R"({"fn_name": "shout", "payload": "hop"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "HOP");
  EXPECT_EQ(r.headers["x-entry-node"], "w1");
  EXPECT_EQ(r.headers["x-architecture"], "centralized");
  EXPECT_EQ(r.headers["x-hop-count"], "1");  // the worker forwarded it to the master
  r = Curl("POST", "/v1/fsched.v1.Worker/GetStatus", "{}");
  EXPECT_EQ(r.status, 200) << r.body;
  r = Curl("GET", "/configuration");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr("\"nodeId\":\"w1\""));

  // Only masters keep invocations, durations and functions.
  r = Curl("POST", "/async-function/shout", "later");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_THAT(r.body, HasSubstr("this worker does not serve fsched.v1.Controller"));
  EXPECT_THAT(r.body, HasSubstr("ask a master"));
  EXPECT_EQ(Curl("POST", "/v1/fsched.v1.Controller/ListFunctions", "{}").status, 404);
  testing::WriteFile(dir_ + "/task.tar", "not read");
  r = Curl("POST", "/controller/task/new", std::nullopt, testing::kAdminToken, {},
           {"-F", "file=@" + dir_ + "/task.tar"});
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_THAT(r.body, HasSubstr("this worker does not serve fsched.v1.Controller"));
  r = Curl("GET", "/durations?function=shout");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.body, HasSubstr("master"));
  // The same authentication as the worker's gRPC services.
  EXPECT_EQ(Curl("POST", "/function/shout", "x", "").status, 401);
  EXPECT_EQ(Curl("GET", "/healthz", std::nullopt, "").status, 200);
  // The master's entry is unchanged.
  base_ = master_base;
  EXPECT_EQ(Curl("POST", "/async-function/shout", "later").status, 202);
}

}  // namespace
}  // namespace fsched
