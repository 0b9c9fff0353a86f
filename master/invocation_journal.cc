#include "master/invocation_journal.h"

#include <string_view>

#include "absl/container/flat_hash_set.h"
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
  group->batch.accepted.emplace_back(invocation.id(), std::move(record));
  mu_.Await(absl::Condition(
      +[](Group* g) { return g->written; }, group.get()));
  if (!group->status.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "the master cannot record the invocation in its state, so it does not accept it: ",
        group->status.message()));
  }
  return absl::OkStatus();
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
      return;  // stopping, nothing left
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
    absl::Status status = store_->WriteJournal(batch);
    mu_.Lock();
    if (!status.ok() && !batch.finished.empty()) {
      FSCHED_LOG(kError,
                 "%d finished invocations stay recorded as accepted (they would run again after "
                 "a restart): %s",
                 batch.finished.size(), status.message());
    }
    group->status = std::move(status);
    group->written = true;
  }
}

}  // namespace fsched::master
