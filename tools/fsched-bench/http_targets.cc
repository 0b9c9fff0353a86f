#include "tools/fsched-bench/http_targets.h"

#include <curl/curl.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/proto_time.h"
#include "tools/fsched-bench/driver.h"

namespace fsched::bench {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

const std::string* FindHeader(const Headers& headers, absl::string_view name) {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, name)) return &value;
  }
  return nullptr;
}

// The code an HTTP status stands for when the answer carries no gRPC status
// (a proxy's, or a server that is not fsched's entry): gRPC's own mapping
// (doc/http-grpc-status-mapping.md), except that a 404 says the path is not
// there (NOT_FOUND) rather than that a method is missing.
grpc::StatusCode CodeForHttpStatus(long http_status) {
  switch (http_status) {
    case 400:
      return grpc::StatusCode::INTERNAL;
    case 401:
      return grpc::StatusCode::UNAUTHENTICATED;
    case 403:
      return grpc::StatusCode::PERMISSION_DENIED;
    case 404:
      return grpc::StatusCode::NOT_FOUND;
    case 429:
    case 502:
    case 503:
    case 504:
      return grpc::StatusCode::UNAVAILABLE;
    default:
      return grpc::StatusCode::UNKNOWN;
  }
}

// "queue;dur=0.012, cold-start;dur=0.000, ..." into the result's timings.
void ReadServerTiming(absl::string_view header, v1::Timings* timings) {
  for (absl::string_view metric : absl::StrSplit(header, ',')) {
    std::vector<absl::string_view> parts = absl::StrSplit(metric, ';');
    const absl::string_view name = absl::StripAsciiWhitespace(parts[0]);
    double ms = 0;
    bool found = false;
    for (size_t i = 1; i < parts.size(); ++i) {
      absl::string_view param = absl::StripAsciiWhitespace(parts[i]);
      if (absl::ConsumePrefix(&param, "dur=")) found = absl::SimpleAtod(param, &ms);
    }
    if (!found) continue;
    const absl::Duration d = absl::Microseconds(ms * 1000);
    if (name == "queue") ToProto(d, timings->mutable_queue_wait());
    if (name == "cold-start") ToProto(d, timings->mutable_cold_start());
    if (name == "init") ToProto(d, timings->mutable_init());
    if (name == "execution") ToProto(d, timings->mutable_execution());
    if (name == "total") ToProto(d, timings->mutable_total());
  }
}

// One call's request and answer: the easy handle's private data.
struct Transfer {
  CURL* easy = nullptr;
  std::string url;
  const std::string* payload = nullptr;  // the request's, alive until the call ends
  long http_status = 0;
  Headers headers;
  std::string body;
  char error[CURL_ERROR_SIZE] = "";
  v1::InvocationResult* result = nullptr;
  std::function<void(grpc::Status)> done;  // open loop only
};

size_t OnBody(char* data, size_t size, size_t n, void* transfer) {
  static_cast<Transfer*>(transfer)->body.append(data, size * n);
  return size * n;
}

size_t OnHeader(char* data, size_t size, size_t n, void* transfer) {
  Headers& headers = static_cast<Transfer*>(transfer)->headers;
  const absl::string_view line(data, size * n);
  if (absl::StartsWith(line, "HTTP/")) {
    headers.clear();  // a new answer (after a 100 Continue) starts over
  } else if (const size_t colon = line.find(':'); colon != absl::string_view::npos) {
    headers.emplace_back(absl::StripAsciiWhitespace(line.substr(0, colon)),
                         absl::StripAsciiWhitespace(line.substr(colon + 1)));
  }
  return size * n;
}

// Called by libcurl while a transfer runs, at least once a second: a nonzero
// answer aborts it, so an interrupted run does not wait for its calls.
int OnProgress(void*, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return Interrupted() ? 1 : 0;
}

grpc::Status Finish(CURLcode code, Transfer* t) {
  switch (code) {
    case CURLE_OK:
      curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->http_status);
      return ReadFunctionReply(t->http_status, t->headers, std::move(t->body), t->result);
    case CURLE_OPERATION_TIMEDOUT:
      return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                          absl::StrCat(t->url, ": ", t->error));
    case CURLE_ABORTED_BY_CALLBACK:
      return grpc::Status(grpc::StatusCode::CANCELLED, "the run was interrupted");
    default:
      return grpc::Status(
          grpc::StatusCode::UNAVAILABLE,
          absl::StrCat(t->url, ": ", t->error[0] != '\0' ? t->error : curl_easy_strerror(code)));
  }
}

// Easy handles kept between calls: each keeps its connection alive.
class EasyPool {
 public:
  EasyPool() = default;
  EasyPool(const EasyPool&) = delete;
  EasyPool& operator=(const EasyPool&) = delete;
  ~EasyPool() {
    for (CURL* easy : idle_) curl_easy_cleanup(easy);
  }
  CURL* Take() {
    {
      absl::MutexLock lock(&mu_);
      if (!idle_.empty()) {
        CURL* easy = idle_.back();
        idle_.pop_back();
        return easy;
      }
    }
    return curl_easy_init();
  }
  void Give(CURL* easy) {
    absl::MutexLock lock(&mu_);
    idle_.push_back(easy);
  }

 private:
  absl::Mutex mu_;
  std::vector<CURL*> idle_ ABSL_GUARDED_BY(mu_);
};

// The open loop's transfers, all on one multi handle and one thread, so
// sending a call never waits for another.
class MultiLoop {
 public:
  MultiLoop(int max_connections, EasyPool* pool) : pool_(pool), multi_(curl_multi_init()) {
    curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(max_connections));
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(max_connections));
    thread_ = std::thread([this] { Run(); });
  }
  MultiLoop(const MultiLoop&) = delete;
  MultiLoop& operator=(const MultiLoop&) = delete;
  ~MultiLoop() {
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
    }
    curl_multi_wakeup(multi_);
    thread_.join();
    curl_multi_cleanup(multi_);
  }

  void Add(std::unique_ptr<Transfer> transfer) {
    {
      absl::MutexLock lock(&mu_);
      incoming_.push_back(std::move(transfer));
    }
    curl_multi_wakeup(multi_);
  }

 private:
  void Run() {
    std::map<CURL*, std::unique_ptr<Transfer>> running;
    for (;;) {
      std::vector<std::unique_ptr<Transfer>> added;
      bool stop = false;
      {
        absl::MutexLock lock(&mu_);
        added.swap(incoming_);
        stop = stop_;
      }
      for (auto& t : added) {
        curl_multi_add_handle(multi_, t->easy);
        running.emplace(t->easy, std::move(t));
      }
      if (stop) break;
      int still_running = 0;
      curl_multi_perform(multi_, &still_running);
      int left = 0;
      while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
        if (message->msg != CURLMSG_DONE) continue;
        CURL* easy = message->easy_handle;
        const CURLcode code = message->data.result;  // read before the handle is removed
        curl_multi_remove_handle(multi_, easy);
        auto node = running.extract(easy);
        Transfer& t = *node.mapped();
        const grpc::Status status = Finish(code, &t);
        pool_->Give(easy);
        t.done(status);
      }
      curl_multi_poll(multi_, nullptr, 0, 100, nullptr);
    }
    // Stopped with calls still out: the run is over, they are abandoned.
    for (auto& [easy, t] : running) {
      curl_multi_remove_handle(multi_, easy);
      pool_->Give(easy);
      t->done(grpc::Status(grpc::StatusCode::CANCELLED, "the driver stopped"));
    }
  }

  EasyPool* const pool_;
  CURLM* const multi_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::unique_ptr<Transfer>> incoming_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

class HttpInvokeTargets : public InvokeTargets {
 public:
  explicit HttpInvokeTargets(const HttpTargetOptions& options)
      : addresses_(options.addresses),
        headers_(RequestHeaders(options.token), &curl_slist_free_all),
        multi_(options.max_connections, &pool_) {}

  grpc::Status Invoke(int index, grpc::ClientContext* ctx, const v1::InvokeRequest& request,
                      v1::InvocationResult* result) override {
    Transfer t;
    if (grpc::Status refused = Prepare(index, ctx, request, result, &t); !refused.ok()) {
      return refused;
    }
    const grpc::Status status = Finish(curl_easy_perform(t.easy), &t);
    pool_.Give(t.easy);
    return status;
  }

  void AsyncInvoke(int index, grpc::ClientContext* ctx, const v1::InvokeRequest* request,
                   v1::InvocationResult* result, std::function<void(grpc::Status)> done) override {
    auto t = std::make_unique<Transfer>();
    if (grpc::Status refused = Prepare(index, ctx, *request, result, t.get()); !refused.ok()) {
      return done(refused);
    }
    t->done = std::move(done);
    multi_.Add(std::move(t));
  }

  size_t size() const override { return addresses_.size(); }

 private:
  grpc::Status Prepare(int index, grpc::ClientContext* ctx, const v1::InvokeRequest& request,
                       v1::InvocationResult* result, Transfer* t) {
    if (request.args_size() > 0 || request.architecture() != v1::ARCHITECTURE_UNSPECIFIED) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "POST /function/{name} carries a payload only: no arguments and no "
                          "architecture (use --protocol grpc)");
    }
    t->easy = pool_.Take();
    if (t->easy == nullptr) {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "libcurl: no easy handle");
    }
    CURL* easy = t->easy;
    char* name = curl_easy_escape(easy, request.function().data(),
                                  static_cast<int>(request.function().size()));
    t->url = absl::StrCat("http://", addresses_[static_cast<size_t>(index) % addresses_.size()],
                          "/function/", name);
    curl_free(name);
    t->payload = &request.payload();
    t->result = result;
    const absl::Duration left = absl::FromChrono(ctx->deadline()) - absl::Now();
    curl_easy_setopt(easy, CURLOPT_URL, t->url.c_str());
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, t->payload->data());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(t->payload->size()));
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers_.get());
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &OnHeader);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, &OnProgress);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
                     std::max<long>(1, static_cast<long>(absl::ToInt64Milliseconds(left))));
    return grpc::Status::OK;
  }

  static curl_slist* RequestHeaders(const std::string& token) {
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/octet-stream");
    headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
    if (!token.empty()) {
      headers = curl_slist_append(headers, absl::StrCat("Authorization: Bearer ", token).c_str());
    }
    return headers;
  }

  const std::vector<std::string> addresses_;
  const std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers_;
  EasyPool pool_;
  MultiLoop multi_;  // after the pool: stopped first
};

}  // namespace

grpc::Status ReadFunctionReply(long http_status, const Headers& headers, std::string body,
                               v1::InvocationResult* result) {
  const std::string* outcome_word = FindHeader(headers, "X-Fsched-Outcome");
  v1::Outcome outcome = v1::OUTCOME_UNSPECIFIED;
  if (outcome_word == nullptr ||
      !v1::Outcome_Parse("OUTCOME_" + absl::AsciiStrToUpper(*outcome_word), &outcome)) {
    // The call did not reach a function: the entry's error, as gRPC would say it.
    google::protobuf::Struct error;
    if (google::protobuf::util::JsonStringToMessage(body, &error).ok()) {
      const auto& fields = error.fields();
      const auto code = fields.find("code");
      const auto message = fields.find("message");
      if (code != fields.end() && message != fields.end() && code->second.number_value() > 0 &&
          code->second.number_value() <= 16) {
        return grpc::Status(static_cast<grpc::StatusCode>(code->second.number_value()),
                            message->second.string_value());
      }
    }
    return grpc::Status(CodeForHttpStatus(http_status),
                        absl::StrCat("HTTP ", http_status, ": ", body));
  }
  result->Clear();
  result->set_outcome(outcome);
  if (const std::string* id = FindHeader(headers, "X-Fsched-Invocation-Id")) {
    result->set_invocation_id(*id);
  }
  if (const std::string* worker = FindHeader(headers, "X-Fsched-Worker")) {
    result->set_worker_id(*worker);
  }
  if (const std::string* mode_word = FindHeader(headers, "X-Fsched-Mode")) {
    v1::ExecutionMode mode;
    if (v1::ExecutionMode_Parse("EXECUTION_MODE_" + absl::AsciiStrToUpper(*mode_word), &mode)) {
      result->set_mode(mode);
    }
  }
  int number = 0;
  if (const std::string* exit_code = FindHeader(headers, "X-Fsched-Exit-Code");
      exit_code != nullptr && absl::SimpleAtoi(*exit_code, &number)) {
    result->set_exit_code(number);
  }
  if (const std::string* attempts = FindHeader(headers, "X-Fsched-Attempts");
      attempts != nullptr && absl::SimpleAtoi(*attempts, &number)) {
    result->set_attempts(static_cast<uint32_t>(number));
  }
  if (const std::string* truncated = FindHeader(headers, "X-Fsched-Output-Truncated")) {
    result->set_stdout_truncated(*truncated == "true");
  }
  if (const std::string* timing = FindHeader(headers, "Server-Timing")) {
    ReadServerTiming(*timing, result->mutable_timings());
  }
  if (outcome == v1::OUTCOME_OK) {
    result->set_stdout(std::move(body));
  } else {
    // The entry answers "message\nstderr" for a call that did not succeed.
    const size_t newline = body.find('\n');
    result->set_message(body.substr(0, newline));
    if (newline != std::string::npos) result->set_stderr(body.substr(newline + 1));
  }
  return grpc::Status::OK;
}

absl::StatusOr<std::unique_ptr<InvokeTargets>> HttpTargets(const HttpTargetOptions& options) {
  if (options.addresses.empty()) return absl::InvalidArgumentError("no address to send calls to");
  for (const std::string& address : options.addresses) {
    if (absl::Status ok = CheckHostPort(address); !ok.ok()) return ok;
  }
  if (options.max_connections < 1) {
    return absl::InvalidArgumentError("--http_connections must be at least 1");
  }
  static std::once_flag initialised;
  CURLcode init = CURLE_OK;
  std::call_once(initialised, [&] { init = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (init != CURLE_OK) {
    return absl::InternalError(absl::StrCat("libcurl: ", curl_easy_strerror(init)));
  }
  return std::make_unique<HttpInvokeTargets>(options);
}

}  // namespace fsched::bench
