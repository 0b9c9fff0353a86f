#include "master/invocation_table.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/proto_time.h"

namespace fsched::master {

absl::StatusOr<std::string> InvocationTable::Create(const v1::FunctionSpec& spec,
                                                    const v1::InvokeRequest& request,
                                                    absl::Duration timeout, absl::Time now,
                                                    InvocationCallback on_done) {
  absl::MutexLock lock(&mu_);
  if (closed_)
    return absl::UnavailableError("the master is shutting down; try another entry point");
  uint32_t& in_flight = in_flight_[spec.name()];
  if (spec.max_concurrency() > 0 && in_flight >= spec.max_concurrency()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "function ", spec.name(), " has ", in_flight,
        " invocations queued or running, its max_concurrency; retry when one has finished"));
  }
  ++in_flight;
  std::string id;
  // 15 characters: short enough for the string's inline buffer, so the many
  // copies on the hot path (queue, deadlines, in-flight maps) never allocate.
  // 44 random bits; a collision with a record still held is simply redrawn.
  do {
    id = absl::StrFormat("inv-%011x", absl::Uniform<uint64_t>(rng_) >> 20);
  } while (records_.contains(id));
  Record& record = records_[id];
  record.spec = spec;
  record.request = request;
  record.timeout = timeout;
  record.submitted = now;
  if (on_done) record.waiters.push_back(std::move(on_done));
  return id;
}

absl::Status InvocationTable::Restore(const v1::AcceptedInvocation& accepted) {
  absl::MutexLock lock(&mu_);
  if (records_.contains(accepted.id())) {
    return absl::AlreadyExistsError(absl::StrCat("invocation ", accepted.id(), " is held already"));
  }
  // Accepted once already: its function's max_concurrency does not refuse it now.
  ++in_flight_[accepted.spec().name()];
  Record& record = records_[accepted.id()];
  record.spec = accepted.spec();
  record.request = accepted.request();
  record.timeout = FromProto(accepted.timeout());
  record.submitted = FromProto(accepted.submitted());
  record.attempt = accepted.attempts();
  if (!accepted.worker_id().empty()) {
    record.state = v1::INVOCATION_STATE_RUNNING;
    record.worker_id = accepted.worker_id();
    record.dispatched = FromProto(accepted.dispatched());
    ++running_;
  }
  return absl::OkStatus();
}

void InvocationTable::RestoreFinished(v1::Invocation invocation) {
  absl::MutexLock lock(&mu_);
  if (invocation.state() != v1::INVOCATION_STATE_DONE || records_.contains(invocation.id())) return;
  const std::string id = invocation.id();
  Record& record = records_[id];
  record.spec.set_name(invocation.function());
  record.state = v1::INVOCATION_STATE_DONE;
  record.worker_id = invocation.worker_id();
  record.result = std::move(*invocation.mutable_result());
  const v1::Timings& t = record.result.timings();
  record.submitted = FromProto(t.submitted());
  RetainLocked(id, record, record.submitted + FromProto(t.total()));
}

void InvocationTable::Discard(const std::string& id) {
  {
    absl::MutexLock lock(&mu_);
    const auto it = records_.find(id);
    if (it == records_.end()) return;
    if (it->second.state != v1::INVOCATION_STATE_DONE) LeaveFlightLocked(it->second.spec.name());
    records_.erase(it);
  }
  if (journal_ != nullptr) journal_->Forgotten({id});
}

void InvocationTable::LeaveFlightLocked(const std::string& function) {
  const auto it = in_flight_.find(function);
  if (it == in_flight_.end()) return;
  if (--it->second == 0) in_flight_.erase(it);
}

uint32_t InvocationTable::InFlight(const std::string& function) const {
  absl::MutexLock lock(&mu_);
  const auto it = in_flight_.find(function);
  return it == in_flight_.end() ? 0 : it->second;
}

std::optional<v1::Assignment> InvocationTable::StartAttempt(
    const std::string& id, const scheduling::WorkerView& worker, const std::string& queue_order,
    const std::string& placement, double predicted_seconds, absl::Time now) {
  absl::MutexLock lock(&mu_);
  auto it = records_.find(id);
  if (it == records_.end() || it->second.state != v1::INVOCATION_STATE_QUEUED) return std::nullopt;
  Record& record = it->second;
  record.state = v1::INVOCATION_STATE_RUNNING;
  ++record.attempt;
  ++running_;
  record.worker_id = worker.id;
  record.dispatched = now;
  if (journal_ != nullptr) journal_->Dispatched(id, worker.id, record.attempt, now);
  v1::InvocationResult& r = record.result;
  r.set_cpu_percent_at_dispatch(worker.cpu_percent);
  r.set_memory_percent_at_dispatch(worker.memory_percent);
  r.set_queue_order(queue_order);
  r.set_placement_policy(placement);
  r.set_predicted_seconds(predicted_seconds);
  r.set_input_size(record.request.input_size());

  v1::Assignment assignment;
  assignment.set_invocation_id(id);
  assignment.set_attempt(record.attempt);
  *assignment.mutable_function() = record.spec;
  assignment.set_payload(record.request.payload());
  *assignment.mutable_args() = record.request.args();
  fsched::ToProto(record.timeout, assignment.mutable_timeout());
  assignment.set_hops(record.request.hops());
  assignment.set_architecture(record.request.architecture());
  fsched::ToProto(record.submitted, assignment.mutable_submitted());
  fsched::ToProto(now - record.submitted, assignment.mutable_queue_wait());
  assignment.set_predicted_seconds(predicted_seconds);
  assignment.set_input_size(record.request.input_size());
  return assignment;
}

bool InvocationTable::Adopt(const std::string& id, const std::string& worker, uint32_t attempt,
                            absl::Time now) {
  absl::MutexLock lock(&mu_);
  auto it = records_.find(id);
  if (it == records_.end() || it->second.state != v1::INVOCATION_STATE_QUEUED) return false;
  Record& record = it->second;
  if (attempt != record.attempt && attempt != record.attempt + 1) return false;
  record.state = v1::INVOCATION_STATE_RUNNING;
  record.attempt = attempt;
  record.worker_id = worker;
  record.dispatched = now;
  ++running_;
  if (journal_ != nullptr) journal_->Dispatched(id, worker, attempt, now);
  return true;
}

void InvocationTable::Unstart(const std::string& id) {
  absl::MutexLock lock(&mu_);
  auto it = records_.find(id);
  if (it == records_.end() || it->second.state != v1::INVOCATION_STATE_RUNNING) return;
  it->second.state = v1::INVOCATION_STATE_QUEUED;
  it->second.worker_id.clear();
  --it->second.attempt;
  --running_;
  if (journal_ != nullptr) journal_->Dispatched(id, "", it->second.attempt, absl::Time());
}

InvocationTable::LossAction InvocationTable::OnWorkerLost(const std::string& id, uint32_t attempt,
                                                          uint32_t max_attempts, absl::Time now) {
  std::vector<InvocationCallback> waiters;
  v1::Invocation finished;
  {
    absl::MutexLock lock(&mu_);
    auto it = records_.find(id);
    if (it == records_.end()) return LossAction::kStale;
    Record& record = it->second;
    if (record.state != v1::INVOCATION_STATE_RUNNING || record.attempt != attempt) {
      return LossAction::kStale;
    }
    --running_;
    if (record.attempt < max_attempts) {
      record.state = v1::INVOCATION_STATE_QUEUED;
      record.worker_id.clear();
      if (journal_ != nullptr) journal_->Dispatched(id, "", record.attempt, absl::Time());
      return LossAction::kRequeue;
    }
    v1::InvocationResult& r = record.result;
    r.set_outcome(v1::OUTCOME_REJECTED);
    r.set_message(absl::StrCat("the worker running it was lost on each of ", record.attempt,
                               " attempts (scheduler.max_attempts)"));
    fsched::ToProto(record.submitted, r.mutable_timings()->mutable_submitted());
    fsched::ToProto(now - record.submitted, r.mutable_timings()->mutable_total());
    waiters = FinishLocked(id, record, now, &finished);
  }
  for (auto& done : waiters) done(finished);
  JournalFinished(std::move(finished));
  return LossAction::kGaveUp;
}

bool InvocationTable::Complete(const std::string& id, uint32_t attempt, v1::InvocationResult result,
                               absl::Time now) {
  std::vector<InvocationCallback> waiters;
  v1::Invocation finished;
  {
    absl::MutexLock lock(&mu_);
    auto it = records_.find(id);
    if (it == records_.end()) return false;
    Record& record = it->second;
    if (record.state != v1::INVOCATION_STATE_RUNNING || record.attempt != attempt) return false;
    --running_;
    // Keep what the master knows (dispatch-time load, policies); take the rest from the worker.
    const v1::InvocationResult& mine = record.result;
    result.set_cpu_percent_at_dispatch(mine.cpu_percent_at_dispatch());
    result.set_memory_percent_at_dispatch(mine.memory_percent_at_dispatch());
    result.set_queue_order(mine.queue_order());
    result.set_placement_policy(mine.placement_policy());
    result.set_predicted_seconds(mine.predicted_seconds());
    result.set_input_size(mine.input_size());
    result.set_invocation_id(id);
    result.set_function(record.spec.name());
    result.set_worker_id(record.worker_id);
    result.set_attempts(record.attempt);
    v1::Timings* t = result.mutable_timings();
    fsched::ToProto(record.submitted, t->mutable_submitted());
    fsched::ToProto(record.dispatched - record.submitted, t->mutable_queue_wait());
    fsched::ToProto(now - record.submitted, t->mutable_total());
    record.result = std::move(result);
    waiters = FinishLocked(id, record, now, &finished);
  }
  if (ResultObserver* observer = observer_.load()) observer->OnResult(finished.result());
  for (auto& done : waiters) done(finished);
  JournalFinished(std::move(finished));
  return true;
}

bool InvocationTable::Reject(const std::string& id, v1::Outcome outcome, const std::string& message,
                             absl::Time now) {
  std::vector<InvocationCallback> waiters;
  v1::Invocation finished;
  {
    absl::MutexLock lock(&mu_);
    auto it = records_.find(id);
    if (it == records_.end() || it->second.state == v1::INVOCATION_STATE_DONE) return false;
    Record& record = it->second;
    if (record.state == v1::INVOCATION_STATE_RUNNING) --running_;
    v1::InvocationResult& r = record.result;
    r.set_outcome(outcome);
    r.set_message(message);
    r.set_attempts(record.attempt);
    fsched::ToProto(record.submitted, r.mutable_timings()->mutable_submitted());
    fsched::ToProto(now - record.submitted, r.mutable_timings()->mutable_total());
    waiters = FinishLocked(id, record, now, &finished);
  }
  if (ResultObserver* observer = observer_.load()) observer->OnResult(finished.result());
  for (auto& done : waiters) done(finished);
  JournalFinished(std::move(finished));
  return true;
}

std::vector<InvocationCallback> InvocationTable::FinishLocked(const std::string& id, Record& record,
                                                              absl::Time now,
                                                              v1::Invocation* finished) {
  if (record.state != v1::INVOCATION_STATE_DONE) LeaveFlightLocked(record.spec.name());
  record.state = v1::INVOCATION_STATE_DONE;
  record.result.set_invocation_id(id);
  record.result.set_function(record.spec.name());
  record.request.clear_payload();  // results are retained; payloads need not be
  std::vector<InvocationCallback> waiters = std::move(record.waiters);
  record.waiters.clear();
  RetainLocked(id, record, now);
  *finished = ToProto(id, record);
  if (journal_ != nullptr) unjournaled_.insert(id);
  TrimLocked(now);  // may forget `record` itself (a result above the byte budget)
  return waiters;
}

void InvocationTable::JournalFinished(v1::Invocation finished) {
  if (journal_ == nullptr) return;
  std::string id = finished.id();
  journal_->Finished(std::move(finished));
  bool forgotten;
  {
    absl::MutexLock lock(&mu_);
    unjournaled_.erase(id);
    forgotten = forget_when_journaled_.erase(id) > 0;
  }
  if (forgotten) journal_->Forgotten({std::move(id)});
}

void InvocationTable::RetainLocked(const std::string& id, const Record& record, absl::Time at) {
  const uint64_t bytes = id.size() + record.result.ByteSizeLong() + record.spec.ByteSizeLong() +
                         record.request.ByteSizeLong() + kRecordOverheadBytes;
  finished_order_.push_back({id, bytes, at});
  finished_bytes_ += bytes;
}

size_t InvocationTable::TrimLocked(absl::Time now) {
  std::vector<std::string> forgotten;
  size_t count = 0;
  while (!finished_order_.empty() &&
         (finished_order_.size() > retention_.results || finished_bytes_ > retention_.bytes ||
          finished_order_.front().at + retention_.age < now)) {
    records_.erase(finished_order_.front().id);
    finished_bytes_ -= finished_order_.front().bytes;
    std::string& id = finished_order_.front().id;
    if (unjournaled_.contains(id)) {
      forget_when_journaled_.insert(std::move(id));  // JournalFinished tells it, in order
    } else {
      forgotten.push_back(std::move(id));
    }
    finished_order_.pop_front();
    ++count;
  }
  // Told under the table's lock to keep the journal's order.
  if (journal_ != nullptr && !forgotten.empty()) journal_->Forgotten(std::move(forgotten));
  return count;
}

size_t InvocationTable::ExpireResults(absl::Time now) {
  absl::MutexLock lock(&mu_);
  return TrimLocked(now);
}

InvocationTable::Retained InvocationTable::retained() const {
  absl::MutexLock lock(&mu_);
  return {finished_order_.size(), finished_bytes_};
}

v1::Invocation InvocationTable::ToProto(const std::string& id, const Record& record) {
  v1::Invocation inv;
  inv.set_id(id);
  inv.set_function(record.spec.name());
  inv.set_state(record.state);
  inv.set_worker_id(record.worker_id);
  if (record.state == v1::INVOCATION_STATE_DONE) *inv.mutable_result() = record.result;
  return inv;
}

absl::StatusOr<v1::Invocation> InvocationTable::Get(const std::string& id) const {
  absl::MutexLock lock(&mu_);
  auto it = records_.find(id);
  if (it == records_.end()) {
    return absl::NotFoundError(
        absl::StrCat("invocation '", id.substr(0, 80), "' is unknown (or its result has expired)"));
  }
  return ToProto(id, it->second);
}

absl::StatusOr<InvocationTable::Admission> InvocationTable::AdmissionOf(
    const std::string& id) const {
  absl::MutexLock lock(&mu_);
  auto it = records_.find(id);
  if (it == records_.end()) {
    return absl::NotFoundError(absl::StrCat("invocation '", id.substr(0, 80), "' is unknown"));
  }
  const v1::InvokeRequest& request = it->second.request;
  return Admission{it->second.spec, request.input_size(), request.worker_id(), request.cache_ways(),
                   it->second.submitted};
}

absl::Status InvocationTable::AddWaiter(const std::string& id, InvocationCallback done) {
  v1::Invocation finished;
  {
    absl::MutexLock lock(&mu_);
    auto it = records_.find(id);
    if (it == records_.end()) {
      return absl::NotFoundError(absl::StrCat("invocation '", id.substr(0, 80),
                                              "' is unknown (or its result has expired)"));
    }
    if (it->second.state != v1::INVOCATION_STATE_DONE && !closed_) {
      it->second.waiters.push_back(std::move(done));
      return absl::OkStatus();
    }
    finished = ToProto(id, it->second);
  }
  done(finished);
  return absl::OkStatus();
}

void InvocationTable::Close() {
  std::vector<std::pair<v1::Invocation, std::vector<InvocationCallback>>> released;
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    for (auto& [id, record] : records_) {
      if (record.waiters.empty()) continue;
      released.emplace_back(ToProto(id, record), std::move(record.waiters));
      record.waiters.clear();
    }
  }
  for (auto& [invocation, waiters] : released) {
    for (auto& done : waiters) done(invocation);
  }
}

std::string InvocationTable::RunningOn(const std::string& id) const {
  absl::MutexLock lock(&mu_);
  auto it = records_.find(id);
  if (it == records_.end() || it->second.state != v1::INVOCATION_STATE_RUNNING) return "";
  return it->second.worker_id;
}

size_t InvocationTable::running() const {
  absl::MutexLock lock(&mu_);
  return running_;
}

}  // namespace fsched::master
