#include "master/controller.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/function_call.h"
#include "common/grpc_status.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "common/status_macros.h"

namespace fsched::master {

Controller::Controller(Options options, ControllerCallbacks* callbacks, FunctionRegistry* registry,
                       InvocationTable* table, Scheduler* scheduler,
                       scheduling::RuntimePredictor* predictor, TimerQueue* timers, Clock* clock)
    : options_(options),
      callbacks_(callbacks),
      registry_(registry),
      table_(table),
      scheduler_(scheduler),
      predictor_(predictor),
      timers_(timers),
      clock_(clock) {}

absl::StatusOr<v1::Function> Controller::RegisterFunction(
    const v1::RegisterFunctionRequest& request) {
  if (!request.has_spec()) return absl::InvalidArgumentError("spec is missing");
  if (const std::string& digest = request.spec().rootfs_digest(); !digest.empty()) {
    RETURN_IF_ERROR(ValidateDigest(digest, "spec.rootfs_digest"));
    if (callbacks_ != nullptr && !callbacks_->RootfsExists(digest)) {
      return absl::FailedPreconditionError(
          absl::StrCat("spec.rootfs_digest ", digest,
                       " was not uploaded to this master (fschedctl upload-rootfs FILE.tar)"));
    }
  }
  ASSIGN_OR_RETURN(v1::Function function, registry_->Register(request.spec(), request.replace()));
  if (callbacks_ != nullptr) callbacks_->OnFunctionRegistered(function);
  return function;
}

void Controller::AddPrediction(v1::Function* function) const {
  ToProto(absl::Seconds(predictor_->PredictSeconds(function->spec().name(), 0)),
          function->mutable_stats()->mutable_predicted_execution());
}

absl::StatusOr<v1::Function> Controller::GetFunction(const std::string& name) {
  if (name.empty()) return absl::InvalidArgumentError("name is empty");
  ASSIGN_OR_RETURN(v1::Function function, registry_->Get(name));
  AddPrediction(&function);
  return function;
}

std::vector<v1::Function> Controller::ListFunctions() {
  std::vector<v1::Function> functions = registry_->List();
  for (v1::Function& f : functions) AddPrediction(&f);
  return functions;
}

absl::Status Controller::DeleteFunction(const std::string& name) {
  if (name.empty()) return absl::InvalidArgumentError("name is empty");
  RETURN_IF_ERROR(registry_->Delete(name));
  predictor_->Forget(name);
  if (callbacks_ != nullptr) callbacks_->OnFunctionDeleted(name);
  return absl::OkStatus();
}

absl::Status Controller::ValidateRequest(const v1::InvokeRequest& request) const {
  if (request.function().empty()) return absl::InvalidArgumentError("function is empty");
  if (request.payload().size() > options_.max_payload_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("payload is ", request.payload().size(), " bytes; the limit is ",
                     options_.max_payload_bytes, " (scheduler.max_payload_bytes)"));
  }
  if (static_cast<size_t>(request.args_size()) > options_.max_args) {
    return absl::InvalidArgumentError(absl::StrCat("args has ", request.args_size(),
                                                   " entries; the limit is ", options_.max_args));
  }
  for (int i = 0; i < request.args_size(); ++i) {
    if (request.args(i).size() > options_.max_arg_bytes) {
      return absl::InvalidArgumentError(absl::StrCat("args[", i, "] is ", request.args(i).size(),
                                                     " bytes; the limit is ",
                                                     options_.max_arg_bytes));
    }
  }
  if (!std::isfinite(request.input_size()) || request.input_size() < 0) {
    return absl::InvalidArgumentError("input_size must be a finite number >= 0");
  }
  if (!v1::Architecture_IsValid(request.architecture())) {
    return absl::InvalidArgumentError(
        absl::StrCat("architecture ", request.architecture(), " is unknown"));
  }
  if (request.cache_ways() > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("cache_ways ", request.cache_ways(), " is more than 64 ways"));
  }
  if (!request.worker_id().empty() && callbacks_ != nullptr &&
      !callbacks_->WorkerReady(request.worker_id())) {
    return absl::FailedPreconditionError(absl::StrCat("worker '", request.worker_id().substr(0, 80),
                                                      "' is not a ready worker of this cluster"));
  }
  RETURN_IF_ERROR(CheckedFromProto(request.timeout(), "timeout").status());
  return absl::OkStatus();
}

absl::StatusOr<std::string> Controller::Submit(
    const v1::InvokeRequest& request, InvocationCallback on_done,
    const std::function<void(const std::string&)>& on_accepted) {
  absl::Notification answered;
  absl::StatusOr<std::string> out;
  SubmitAsync(request, std::move(on_done), [&](absl::StatusOr<std::string> id) {
    if (id.ok() && on_accepted) on_accepted(*id);
    out = std::move(id);
    answered.Notify();
  });
  answered.WaitForNotification();
  return out;
}

void Controller::SubmitAsync(const v1::InvokeRequest& request, InvocationCallback on_done,
                             std::function<void(absl::StatusOr<std::string>)> answer) {
  if (absl::Status valid = ValidateRequest(request); !valid.ok()) return answer(valid);
  absl::StatusOr<v1::Function> function = registry_->Get(request.function());
  if (!function.ok()) return answer(function.status());
  const v1::FunctionSpec& spec = function->spec();
  if (absl::Status fits = CheckCallFits(request, spec); !fits.ok()) return answer(fits);
  absl::Duration timeout = FromProto(spec.limits().timeout());
  if (timeout == absl::ZeroDuration()) timeout = options_.default_timeout;
  const absl::Duration requested = FromProto(request.timeout());
  if (requested > absl::ZeroDuration()) timeout = std::min(timeout, requested);
  timeout = std::min(timeout, options_.max_timeout);

  const absl::Time now = clock_->Now();
  absl::StatusOr<std::string> created =
      table_->Create(spec, request, timeout, now, std::move(on_done));
  if (created.status().code() == absl::StatusCode::kResourceExhausted) {
    // One of the N in flight ends about every (run time / N): come back then.
    absl::Duration run =
        absl::Seconds(predictor_->PredictSeconds(spec.name(), request.input_size()));
    if (run <= absl::ZeroDuration()) run = FromProto(function->stats().mean_execution());
    if (run <= absl::ZeroDuration()) run = absl::Seconds(1);
    absl::Status refused = created.status();
    SetRetryAfter(&refused, std::clamp(run / std::max<uint32_t>(1, spec.max_concurrency()),
                                       absl::Milliseconds(10), absl::Minutes(1)));
    return answer(refused);
  }
  if (!created.ok()) return answer(created.status());
  const std::string id = *created;
  InvocationTable::Admission admission{spec, request.input_size(), request.worker_id(),
                                       request.cache_ways(), now};
  if (journal_ == nullptr) return answer(Queue(id, admission));
  // Recorded before anyone hears the id, and before it can run.
  v1::AcceptedInvocation accepted;
  accepted.set_id(id);
  *accepted.mutable_spec() = spec;
  *accepted.mutable_request() = request;
  ToProto(now, accepted.mutable_submitted());
  ToProto(timeout, accepted.mutable_timeout());
  journal_->Accept(accepted, [this, id, admission = std::move(admission),
                              answer = std::move(answer)](absl::Status recorded) {
    if (!recorded.ok()) {
      table_->Discard(id);
      return answer(recorded);
    }
    answer(Queue(id, admission));
  });
}

absl::StatusOr<std::string> Controller::Queue(const std::string& id,
                                              const InvocationTable::Admission& admission) {
  if (absl::Status queued = scheduler_->Enqueue(id, admission); !queued.ok()) {
    table_->Discard(id);
    return queued;
  }
  {
    absl::MutexLock lock(&rate_mu_);
    accepted_.Add(admission.arrived, 1);
  }
  return id;
}

std::string Controller::StoppedBefore(const std::string& id) const {
  if (journal_ != nullptr) {
    return absl::StrCat("the master shut down before invocation ", id,
                        " finished; it stays accepted and runs when the master is back "
                        "(WaitInvocation on it there)");
  }
  return absl::StrCat("the master shut down before invocation ", id,
                      " finished; its result is lost with this master");
}

absl::StatusOr<v1::Invocation> Controller::GetInvocation(const std::string& id) {
  if (id.empty()) return absl::InvalidArgumentError("invocation_id is empty");
  return table_->Get(id);
}

absl::Status Controller::WaitInvocation(const std::string& id, absl::Duration timeout,
                                        InvocationCallback done) {
  if (id.empty()) return absl::InvalidArgumentError("invocation_id is empty");
  if (timeout < absl::ZeroDuration()) return absl::InvalidArgumentError("timeout is negative");
  if (timeout == absl::ZeroDuration()) timeout = absl::Seconds(30);
  if (timeout > options_.max_wait) {
    return absl::InvalidArgumentError(absl::StrCat("timeout exceeds the maximum wait of ",
                                                   absl::FormatDuration(options_.max_wait)));
  }
  // Whichever of completion and timer comes first answers; the other finds `fired` set.
  struct Once {
    std::atomic<bool> fired{false};
    InvocationCallback done;
  };
  auto once = std::make_shared<Once>();
  once->done = std::move(done);
  RETURN_IF_ERROR(table_->AddWaiter(id, [once](const v1::Invocation& inv) {
    if (!once->fired.exchange(true)) once->done(inv);
  }));
  if (!once->fired.load()) {
    timers_->RunAt(absl::Now() + timeout, [once, id, table = table_] {
      if (once->fired.exchange(true)) return;
      auto inv = table->Get(id);
      v1::Invocation current;
      if (inv.ok()) {
        current = *inv;
      } else {
        current.set_id(id);
      }
      once->done(current);
    });
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Invocation> Controller::CancelInvocation(const std::string& id) {
  if (id.empty()) return absl::InvalidArgumentError("invocation_id is empty");
  RETURN_IF_ERROR(table_->Get(id).status());
  return scheduler_->Cancel(id);
}

double Controller::AcceptedRate() {
  absl::MutexLock lock(&rate_mu_);
  accepted_.Expire(clock_->Now());
  return static_cast<double>(accepted_.size()) / 60.0;
}

}  // namespace fsched::master
