#include "master/invocation_journal.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace fsched::master {

StoreJournal::StoreJournal(FunctionStore* store)
    : store_(store), open_(std::make_shared<Group>()), writer_([this] { Loop(); }) {}

StoreJournal::~StoreJournal() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  writer_.join();
}

absl::Status StoreJournal::Accepted(const v1::AcceptedInvocation& invocation) {
  std::string record = invocation.SerializeAsString();
  absl::MutexLock lock(&mu_);
  std::shared_ptr<Group> group = open_;
  group->accepted.emplace_back(invocation.id(), std::move(record));
  mu_.Await(absl::Condition(
      +[](Group* g) { return g->written; }, group.get()));
  if (!group->status.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "the master cannot record the invocation in its state, so it does not accept it: ",
        group->status.message()));
  }
  return absl::OkStatus();
}

void StoreJournal::Finished(const std::string& id) {
  absl::MutexLock lock(&mu_);
  finished_.push_back(id);
}

void StoreJournal::Loop() {
  absl::MutexLock lock(&mu_);
  for (;;) {
    mu_.Await(absl::Condition(
        +[](StoreJournal* j) ABSL_NO_THREAD_SAFETY_ANALYSIS {
          return j->stop_ || !j->open_->accepted.empty() || !j->finished_.empty();
        },
        this));
    if (open_->accepted.empty() && finished_.empty()) return;  // stopping, nothing left
    // Take the group; what arrives while it is written forms the next one.
    std::shared_ptr<Group> group = std::exchange(open_, std::make_shared<Group>());
    std::vector<std::string> finished = std::exchange(finished_, {});
    mu_.Unlock();
    absl::Status status = store_->WriteAccepted(group->accepted, finished);
    mu_.Lock();
    if (!status.ok() && !finished.empty()) {
      FSCHED_LOG(kError,
                 "%d finished invocations stay recorded (they would run again after a "
                 "restart): %s",
                 finished.size(), status.message());
    }
    group->status = std::move(status);
    group->written = true;
  }
}

}  // namespace fsched::master
