#include "master/invocation_journal.h"

#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/log.h"
#include "common/thread_name.h"

namespace fsched::master {

StoreJournal::StoreJournal(FunctionStore* store)
    : store_(store), open_(std::make_shared<Group>()), writer_([this] { Loop(); }) {}

absl::Status InvocationJournal::Accepted(const v1::AcceptedInvocation& invocation) {
  absl::Notification done;
  absl::Status status;
  Accept(invocation, [&](absl::Status recorded) {
    status = std::move(recorded);
    done.Notify();
  });
  done.WaitForNotification();
  return status;
}

StoreJournal::~StoreJournal() { Close(); }

void StoreJournal::Close() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (writer_.joinable()) writer_.join();
}

void StoreJournal::Accept(const v1::AcceptedInvocation& invocation,
                          std::function<void(absl::Status)> recorded) {
  std::string record = invocation.SerializeAsString();
  {
    absl::MutexLock lock(&mu_);
    if (!closed_) {
      open_->batch.accepted.emplace_back(invocation.id(), std::move(record));
      open_->recorded.push_back(std::move(recorded));
      return;
    }
  }
  recorded(absl::UnavailableError("the master is stopping: it accepts no more invocations"));
}

void StoreJournal::Dispatched(const std::string& id, const std::string& worker_id,
                              uint32_t attempts, absl::Time at) {
  absl::MutexLock lock(&mu_);
  dispatched_.push_back({id, worker_id, attempts, absl::ToUnixNanos(at)});
}

void StoreJournal::Finished(v1::Invocation invocation) {
  absl::MutexLock lock(&mu_);
  finished_.push_back(std::move(invocation));
}

void StoreJournal::Forgotten(std::vector<std::string> ids) {
  absl::MutexLock lock(&mu_);
  forgotten_.insert(forgotten_.end(), std::make_move_iterator(ids.begin()),
                    std::make_move_iterator(ids.end()));
}

void StoreJournal::Loop() {
  NameThisThread("journal");
  absl::MutexLock lock(&mu_);
  for (;;) {
    mu_.Await(absl::Condition(
        +[](StoreJournal* j) ABSL_NO_THREAD_SAFETY_ANALYSIS {
          return j->stop_ || !j->open_->batch.accepted.empty() || !j->dispatched_.empty() ||
                 !j->finished_.empty() || !j->forgotten_.empty();
        },
        this));
    if (open_->batch.accepted.empty() && dispatched_.empty() && finished_.empty() &&
        forgotten_.empty()) {
      closed_ = true;  // stopping, nothing left
      return;
    }
    if (open_->batch.accepted.empty()) {
      // Nobody waits for what is pending: give the next acceptance a moment to
      // join it, so a lone caller's call costs one commit, not two (its
      // acceptance would otherwise wait behind its predecessor's result).
      mu_.AwaitWithTimeout(absl::Condition(
                               +[](StoreJournal* j) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                                 return j->stop_ || !j->open_->batch.accepted.empty();
                               },
                               this),
                           kLinger);
    }
    // Take the group; what arrives while it is written forms the next one.
    std::shared_ptr<Group> group = std::exchange(open_, std::make_shared<Group>());
    FunctionStore::JournalBatch& batch = group->batch;
    batch.dispatched = std::exchange(dispatched_, {});
    std::vector<v1::Invocation> finished = std::exchange(finished_, {});
    batch.forgotten = std::exchange(forgotten_, {});
    mu_.Unlock();
    // A dispatch of an invocation that finished in the same group would be
    // written and deleted in one transaction: skipped (at one caller or a few,
    // that is every dispatch).
    if (!finished.empty() && !batch.dispatched.empty()) {
      absl::flat_hash_set<std::string_view> done;
      for (const v1::Invocation& invocation : finished) done.insert(invocation.id());
      std::erase_if(batch.dispatched, [&](const FunctionStore::JournalBatch::Dispatch& d) {
        return done.contains(d.id);
      });
    }
    // Serialized here, off the threads that answer calls.
    batch.finished.reserve(finished.size());
    for (const v1::Invocation& invocation : finished) {
      batch.finished.emplace_back(invocation.id(), invocation.SerializeAsString());
    }
    const absl::Status status = store_->WriteJournal(batch);
    if (!status.ok() && !batch.finished.empty()) {
      FSCHED_LOG(kError,
                 "%d finished invocations stay recorded as accepted (they would run again after "
                 "a restart): %s",
                 batch.finished.size(), status.message());
    }
    // Answered off the lock: each queues its invocation, which dispatches
    // (and journals the dispatch) at once.
    const absl::Status answer =
        status.ok() ? status
                    : absl::UnavailableError(absl::StrCat(
                          "the master cannot record the invocation in its state, so it does not "
                          "accept it: ",
                          status.message()));
    for (std::function<void(absl::Status)>& recorded : group->recorded) recorded(answer);
    mu_.Lock();
  }
}

}  // namespace fsched::master
