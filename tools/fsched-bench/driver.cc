#include "tools/fsched-bench/driver.h"

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <set>

#include "absl/strings/str_format.h"
#include "common/quantiles.h"

namespace fsched::bench {
namespace {

std::atomic<bool> interrupted{false};

void OnInterrupt(int sig) {
  if (interrupted.exchange(true)) {
    // Second signal: the user means it.
    std::signal(sig, SIG_DFL);
    std::raise(sig);
  }
}

// Blocking calls cannot watch a flag: this cancels whatever is in flight when
// the run is interrupted, and every call that starts afterwards.
class InFlight {
 public:
  void Add(grpc::ClientContext* ctx) {
    absl::MutexLock lock(&mu_);
    if (cancelled_) ctx->TryCancel();
    calls_.insert(ctx);
  }
  void Remove(grpc::ClientContext* ctx) {
    absl::MutexLock lock(&mu_);
    calls_.erase(ctx);
  }
  void CancelAll() {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    for (grpc::ClientContext* ctx : calls_) ctx->TryCancel();
  }

 private:
  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::set<grpc::ClientContext*> calls_ ABSL_GUARDED_BY(mu_);
};

// Polls the interrupt flag for blocking drivers while they run.
class InterruptWatcher {
 public:
  explicit InterruptWatcher(InFlight* calls)
      : thread_([this, calls] {
          absl::MutexLock lock(&mu_);
          while (!done_) {
            mu_.AwaitWithTimeout(absl::Condition(&done_), absl::Milliseconds(50));
            if (Interrupted()) {
              calls->CancelAll();
              return;
            }
          }
        }) {}
  ~InterruptWatcher() {
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
    }
    thread_.join();
  }

 private:
  absl::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

void Record(Sample* s, const grpc::Status& status, Progress* progress) {
  s->client_latency = absl::ToDoubleSeconds(absl::Now() - s->sent_at);
  // A run keeps a record of every call, and no summary reads the outputs: kept,
  // they would hold a long run's memory (ten minutes of 1 MiB outputs at 20
  // calls/s is 12 GB). Swapped out, not cleared, so their buffers are freed.
  std::string().swap(*s->result.mutable_stdout());
  std::string().swap(*s->result.mutable_stderr());
  s->rpc_code = static_cast<int>(status.error_code());
  s->rpc_message = status.error_message();
  s->abandoned = status.error_code() == grpc::StatusCode::CANCELLED && Interrupted();
  progress->Answered(status.ok() && s->result.outcome() == v1::OUTCOME_OK);
}

// One blocking call into `s`.
void InvokeInto(InvokeTargets* targets, const RequestTemplate& request, uint32_t function,
                InFlight* calls, Progress* progress, Sample* s) {
  const v1::InvokeRequest req = request.Make(s->index, function, -1);
  s->function = req.function();
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + request.deadline));
  calls->Add(&ctx);
  s->sent = true;
  s->sent_at = absl::Now();
  progress->Sent();
  const grpc::Status status = targets->Invoke(s->index, &ctx, req, &s->result);
  calls->Remove(&ctx);
  Record(s, status, progress);
}

}  // namespace

void InstallInterruptHandler() {
  struct sigaction action = {};
  action.sa_handler = OnInterrupt;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

bool Interrupted() { return interrupted.load(); }

v1::InvokeRequest RequestTemplate::Make(int index, uint32_t function, double trace_duration) const {
  v1::InvokeRequest req;
  const std::string& name = functions[function % functions.size()];
  req.set_function(name);
  req.set_payload(FillTemplate(payload, index, name, trace_duration));
  for (const std::string& arg : args) req.add_args(FillTemplate(arg, index, name, trace_duration));
  req.set_architecture(architecture);
  return req;
}

Progress::Progress() : enabled_(isatty(STDERR_FILENO) == 1) {
  if (!enabled_) return;
  drawer_ = std::thread([this] {
    absl::MutexLock lock(&mu_);
    while (!quit_) {
      mu_.AwaitWithTimeout(absl::Condition(&quit_), absl::Milliseconds(250));
      if (active_ && !quit_) Draw(false);
    }
  });
}

Progress::~Progress() {
  {
    absl::MutexLock lock(&mu_);
    quit_ = true;
  }
  if (drawer_.joinable()) drawer_.join();
}

void Progress::StartLevel(const std::string& title, int64_t total, absl::Duration length) {
  absl::MutexLock lock(&mu_);
  sent_ = answered_ = failed_ = 0;
  title_ = title;
  total_ = total;
  length_ = length;
  start_ = absl::Now();
  active_ = true;
}

void Progress::EndLevel() {
  absl::MutexLock lock(&mu_);
  if (active_ && enabled_) Draw(true);
  active_ = false;
}

void Progress::Draw(bool final) {
  const int64_t sent = sent_.load(), answered = answered_.load(), failed = failed_.load();
  double fraction = 0;
  if (total_ > 0) {
    fraction = static_cast<double>(answered) / static_cast<double>(total_);
  } else if (length_ > absl::ZeroDuration()) {
    fraction = (absl::Now() - start_) / length_;
  }
  fraction = std::clamp(fraction, 0.0, 1.0);
  constexpr int kWidth = 24;
  const int filled = static_cast<int>(fraction * kWidth);
  const std::string bar = std::string(filled, '#') + std::string(kWidth - filled, '.');
  // \r and erase-line redraw in place; the final draw leaves the line for the
  // level's summary to follow on the next one.
  std::fprintf(stderr, "\r\033[K%s [%s] %3.0f%%  sent %lld  answered %lld  failed %lld  %.0fs%s",
               title_.c_str(), bar.c_str(), fraction * 100, static_cast<long long>(sent),
               static_cast<long long>(answered), static_cast<long long>(failed),
               absl::ToDoubleSeconds(absl::Now() - start_), final ? "\n" : "");
  std::fflush(stderr);
}

std::vector<Sample> RunOpenLevel(InvokeTargets* targets, const RequestTemplate& request,
                                 const LevelPlan& plan, int level, int first_index,
                                 absl::Duration max_lag, Progress* progress,
                                 OpenLevelReport* report) {
  std::vector<Sample> samples(plan.calls.size());
  struct Call {
    grpc::ClientContext ctx;
    v1::InvokeRequest request;
    bool done = false;
  };
  std::vector<std::unique_ptr<Call>> calls(plan.calls.size());
  absl::Mutex mu;
  size_t outstanding = 0;
  *report = OpenLevelReport{};
  progress->StartLevel(plan.shape, static_cast<int64_t>(plan.calls.size()), plan.length);
  const absl::Time start = absl::Now();
  for (size_t k = 0; k < plan.calls.size(); ++k) {
    const ScheduledCall& planned = plan.calls[k];
    Sample& s = samples[k];
    s.index = first_index + static_cast<int>(k);
    s.level = level;
    s.shape = plan.shape;
    s.offered_rps = plan.offered_rps;
    s.trace_function = planned.trace_function;
    s.scheduled_send = true;
    s.scheduled = start + planned.at;
    auto call = std::make_unique<Call>();
    call->request = request.Make(s.index, planned.function, planned.trace_duration);
    s.function = call->request.function();
    call->ctx.set_deadline(absl::ToChronoTime(s.scheduled + request.deadline));
    // Sleep to just before the slot (in slices, to notice an interrupt), then
    // spin: sleeping alone overshoots by the kernel's timer slack, which
    // matters at thousands of requests per second.
    for (absl::Duration wait = s.scheduled - absl::Now(); wait > absl::Microseconds(200);
         wait = s.scheduled - absl::Now()) {
      if (Interrupted()) break;
      absl::SleepFor(std::min(wait - absl::Microseconds(200), absl::Milliseconds(100)));
    }
    if (Interrupted()) break;
    while (absl::Now() < s.scheduled) {
    }
    s.sent = true;
    s.sent_at = absl::Now();
    const absl::Duration lag = s.sent_at - s.scheduled;
    report->worst_lag = std::max(report->worst_lag, lag);
    if (lag > max_lag) ++report->late;
    Call* raw = call.get();
    calls[k] = std::move(call);
    {
      absl::MutexLock lock(&mu);
      ++outstanding;
    }
    progress->Sent();
    targets->AsyncInvoke(s.index, &raw->ctx, &raw->request, &s.result,
                         [&s, raw, &mu, &outstanding, progress](grpc::Status status) {
                           Record(&s, status, progress);
                           absl::MutexLock lock(&mu);
                           raw->done = true;
                           --outstanding;
                         });
  }
  absl::MutexLock lock(&mu);
  if (Interrupted()) {
    for (const auto& call : calls) {
      if (call && !call->done) call->ctx.TryCancel();
    }
  }
  // An interrupt that arrives while waiting for the last answers cancels them too.
  while (!mu.AwaitWithTimeout(absl::Condition(
                                  +[](size_t* n) { return *n == 0; }, &outstanding),
                              absl::Milliseconds(100))) {
    if (!Interrupted()) continue;
    for (const auto& call : calls) {
      if (call && !call->done) call->ctx.TryCancel();
    }
  }
  // Calls never sent (the run was interrupted) are not samples.
  samples.resize(static_cast<size_t>(
      std::find_if(samples.begin(), samples.end(), [](const Sample& s) { return !s.sent; }) -
      samples.begin()));
  std::vector<double> lags;
  lags.reserve(samples.size());
  for (const Sample& s : samples) lags.push_back(absl::ToDoubleSeconds(s.sent_at - s.scheduled));
  if (!lags.empty()) report->p99_lag = absl::Seconds(Summarize(std::move(lags)).p99);
  if (samples.size() > 1) {
    const double n = static_cast<double>(samples.size() - 1);
    const absl::Duration planned = samples.back().scheduled - samples.front().scheduled;
    const absl::Duration actual = samples.back().sent_at - samples.front().sent_at;
    if (planned > absl::ZeroDuration()) report->scheduled_rps = n / absl::ToDoubleSeconds(planned);
    if (actual > absl::ZeroDuration()) report->achieved_rps = n / absl::ToDoubleSeconds(actual);
  }
  progress->EndLevel();
  return samples;
}

namespace {

// One closed-loop user on the async API: each answer's callback sends the
// user's next call, so a stage of N users costs no thread of its own per
// user and no completion queue per call (a blocking stub makes one for
// every call): 44 instead of 54 us of the driver's CPU per warm call, where
// the whole cluster spends about 200 (docs/performance.md).
class ClosedLoopUser {
 public:
  struct Stage {
    InvokeTargets* targets;
    const RequestTemplate* request;
    const StageOptions* options;
    int level;
    int first_index;
    std::string shape;
    absl::Time warm_until, end;
    std::atomic<int> next_index{0};
    std::atomic<int> counted{0};
    InFlight calls;
    Progress* progress;
    absl::Mutex mu;
    int running ABSL_GUARDED_BY(mu) = 0;
  };

  ClosedLoopUser(Stage* stage, uint32_t first_function)
      : stage_(stage), function_(first_function) {}

  std::vector<Sample>& samples() { return samples_; }

  // Sends calls until the stage ends. A call whose answer arrives before
  // AsyncInvoke returns (a refusal, a fast reply) hands the next send back to
  // this loop instead of recursing from its callback.
  void Run() {
    for (;;) {
      if (!Prepare()) return Finish();
      sending_.store(true);
      Sample* s = &samples_.back();
      stage_->targets->AsyncInvoke(s->index, ctx_.get(), &request_, &s->result,
                                   [this](grpc::Status status) { Answered(status); });
      if (sending_.exchange(false)) return;  // the callback sends the next one
    }
  }

 private:
  bool Prepare() {
    Stage& st = *stage_;
    if (Interrupted()) return false;
    const absl::Time now = absl::Now();
    const bool warmup = now < st.warm_until;
    if (!warmup) {
      if (st.options->requests > 0 ? st.counted.fetch_add(1) >= st.options->requests
                                   : now >= st.end) {
        return false;
      }
    }
    Sample& s = samples_.emplace_back();
    s.index = st.first_index + st.next_index.fetch_add(1);
    s.level = st.level;
    s.shape = st.shape;
    s.users = st.options->users;
    s.warmup = warmup;
    request_ = st.request->Make(s.index, function_++, -1);
    s.function = request_.function();
    // The previous call's context is released one call later, never inside
    // the callback of the call it belongs to.
    previous_ctx_ = std::move(ctx_);
    ctx_ = std::make_unique<grpc::ClientContext>();
    ctx_->set_deadline(absl::ToChronoTime(absl::Now() + st.request->deadline));
    st.calls.Add(ctx_.get());
    s.sent = true;
    s.sent_at = absl::Now();
    st.progress->Sent();
    return true;
  }

  void Answered(const grpc::Status& status) {
    stage_->calls.Remove(ctx_.get());
    Record(&samples_.back(), status, stage_->progress);
    if (sending_.exchange(false)) return;  // Run is still in AsyncInvoke: it sends next
    Run();
  }

  // The last context stays with the user, destroyed after the stage.
  void Finish() {
    absl::MutexLock lock(&stage_->mu);
    --stage_->running;
  }

  Stage* const stage_;
  uint32_t function_;
  std::vector<Sample> samples_;
  v1::InvokeRequest request_;
  std::unique_ptr<grpc::ClientContext> ctx_, previous_ctx_;
  std::atomic<bool> sending_{false};
};

}  // namespace

std::vector<Sample> RunClosedStage(InvokeTargets* targets, const RequestTemplate& request,
                                   const StageOptions& stage, int level, int first_index,
                                   Progress* progress) {
  ClosedLoopUser::Stage st;
  st.targets = targets;
  st.request = &request;
  st.options = &stage;
  st.level = level;
  st.first_index = first_index;
  st.shape = absl::StrFormat("%d user%s", stage.users, stage.users == 1 ? "" : "s");
  st.progress = progress;
  progress->StartLevel(st.shape, stage.requests,
                       stage.requests > 0 ? absl::ZeroDuration() : stage.warmup + stage.duration);
  InterruptWatcher watcher(&st.calls);
  const absl::Time start = absl::Now();
  st.warm_until = start + stage.warmup;
  st.end = st.warm_until + stage.duration;
  std::vector<std::unique_ptr<ClosedLoopUser>> users;
  for (int u = 0; u < stage.users; ++u) {
    users.push_back(std::make_unique<ClosedLoopUser>(&st, static_cast<uint32_t>(u)));
  }
  {
    absl::MutexLock lock(&st.mu);
    st.running = stage.users;
  }
  for (auto& user : users) user->Run();
  {
    absl::MutexLock lock(&st.mu);
    st.mu.Await(absl::Condition(
        +[](int* n) { return *n == 0; }, &st.running));
  }
  progress->EndLevel();
  std::vector<Sample> samples;
  for (auto& user : users) {
    std::vector<Sample>& mine = user->samples();
    samples.insert(samples.end(), std::make_move_iterator(mine.begin()),
                   std::make_move_iterator(mine.end()));
  }
  std::sort(samples.begin(), samples.end(),
            [](const Sample& a, const Sample& b) { return a.index < b.index; });
  return samples;
}

std::vector<Sample> RunCycles(InvokeTargets* targets, const RequestTemplate& request, int cycles,
                              int level, int first_index, Progress* progress) {
  const std::string shape = absl::StrFormat("%d cycles", cycles);
  const int per_cycle = static_cast<int>(request.functions.size());
  progress->StartLevel(shape, static_cast<int64_t>(cycles) * per_cycle, absl::ZeroDuration());
  InFlight calls;
  InterruptWatcher watcher(&calls);
  std::vector<Sample> samples;
  for (int c = 0; c < cycles && !Interrupted(); ++c) {
    for (int f = 0; f < per_cycle && !Interrupted(); ++f) {
      Sample& s = samples.emplace_back();
      s.index = first_index + static_cast<int>(samples.size()) - 1;
      s.level = level;
      s.shape = shape;
      InvokeInto(targets, request, static_cast<uint32_t>(f), &calls, progress, &s);
    }
  }
  progress->EndLevel();
  return samples;
}

}  // namespace fsched::bench
