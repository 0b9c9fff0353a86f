#include "worker/function_source.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/rpc.h"

namespace fsched::worker {

struct FunctionSource::Lookup {
  std::string name;
  std::vector<std::string> masters;
  size_t next = 0;
  std::vector<std::string> failures;
  std::unique_ptr<grpc::ClientContext> attempt;  // a fresh one per master asked
  v1::GetFunctionRequest request;
  v1::Function response;
  std::vector<Done> waiting;  // guarded by FunctionSource::mu_
};

v1::Controller::Stub* FunctionSource::StubFor(const std::string& address) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<v1::Controller::Stub>& stub = stubs_[address];
  if (!stub) stub = v1::Controller::NewStub(MakeChannel(address));
  return stub.get();
}

FunctionSource::~FunctionSource() {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(
                           +[](int* n) { return *n == 0; }, &asking_),
                       absl::Seconds(10));
}

void FunctionSource::Get(const std::string& name, Done done) {
  std::optional<v1::FunctionSpec> known;
  std::shared_ptr<Lookup> start;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_->Now();
    auto it = known_.find(name);
    const absl::Duration age =
        it == known_.end() ? absl::InfiniteDuration() : now - it->second.fetched;
    if (age < 2 * fresh_for_) known = it->second.spec;
    if (age >= fresh_for_) {
      std::shared_ptr<Lookup>& lookup = in_flight_[name];
      if (lookup == nullptr) {
        lookup = start = std::make_shared<Lookup>();
        lookup->name = name;
        lookup->request.set_name(name);
      }
      // Too old to use: this call waits for the lookup's answer.
      if (!known) lookup->waiting.push_back(std::move(done));
    }
  }
  if (start) {
    start->masters = masters_();
    Ask(std::move(start));
  }
  if (known) done(std::move(*known));
}

void FunctionSource::Finish(const std::shared_ptr<Lookup>& lookup,
                            const absl::StatusOr<v1::FunctionSpec>& result) {
  std::vector<Done> waiting;
  {
    absl::MutexLock lock(&mu_);
    if (auto it = in_flight_.find(lookup->name); it != in_flight_.end() && it->second == lookup) {
      in_flight_.erase(it);
    }
    waiting.swap(lookup->waiting);
  }
  for (Done& done : waiting) done(result);
}

void FunctionSource::Ask(std::shared_ptr<Lookup> lookup) {
  if (lookup->next >= lookup->masters.size()) {
    std::optional<v1::FunctionSpec> stale;
    {
      absl::MutexLock lock(&mu_);
      if (auto it = known_.find(lookup->name); it != known_.end()) stale = it->second.spec;
    }
    if (stale) {
      Finish(lookup, *stale);
    } else if (lookup->masters.empty()) {
      Finish(lookup, absl::UnavailableError("this worker has no master yet to look the function "
                                            "up at; retry once it has joined"));
    } else {
      Finish(lookup,
             absl::UnavailableError(absl::StrCat("no master answered for function '", lookup->name,
                                                 "': ", absl::StrJoin(lookup->failures, "; "))));
    }
    return;
  }
  const std::string address = lookup->masters[lookup->next++];
  lookup->attempt = std::make_unique<grpc::ClientContext>();
  lookup->attempt->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  lookup->response.Clear();
  {
    absl::MutexLock lock(&mu_);
    ++asking_;
  }
  StubFor(address)->async()->GetFunction(lookup->attempt.get(), &lookup->request, &lookup->response,
                                         [this, lookup, address](grpc::Status status) {
                                           // The attempt's context holds its channel: let it
                                           // go while stubs_ holds the channel too. Were the
                                           // context the last holder, the channel would end on
                                           // gRPC's callback thread, which then joins itself.
                                           std::unique_ptr<grpc::ClientContext> finished =
                                               std::move(lookup->attempt);
                                           Answered(lookup, address, status);
                                           finished.reset();
                                           absl::MutexLock lock(&mu_);
                                           --asking_;
                                         });
}

void FunctionSource::Answered(std::shared_ptr<Lookup> lookup, const std::string& address,
                              const grpc::Status& status) {
  if (status.ok()) {
    {
      absl::MutexLock lock(&mu_);
      known_[lookup->name] = {lookup->response.spec(), clock_->Now()};
    }
    Finish(lookup, lookup->response.spec());
    return;
  }
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
    {
      absl::MutexLock lock(&mu_);
      known_.erase(lookup->name);
    }
    Finish(lookup, absl::NotFoundError(status.error_message()));
    return;
  }
  lookup->failures.push_back(absl::StrCat(address, ": ", status.error_message()));
  Ask(lookup);
}

}  // namespace fsched::worker
