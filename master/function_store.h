// The master's durable state: one SQLite file under its state directory, so
// registered functions, what was learned about them, tasks and tokens survive a restart.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "fsched/v1/auth.pb.h"
#include "fsched/v1/types.pb.h"

struct sqlite3;
struct sqlite3_stmt;

namespace fsched::master {

class FunctionStore {
 public:
  /// Opens (creating if needed) `<state_dir>/fsched.db`.
  /// \return FAILED_PRECONDITION naming the path when it cannot be created or opened.
  static absl::StatusOr<std::unique_ptr<FunctionStore>> Open(const std::string& state_dir);
  ~FunctionStore();

  absl::Status Put(const v1::Function& function);
  /// Deletes the function and what was learned about it.
  absl::Status Delete(const std::string& name);
  absl::StatusOr<std::vector<v1::Function>> LoadAll();

  /// The run-time predictor's state per function (written in batches, not per call).
  absl::Status PutModels(const std::vector<v1::RuntimeModel>& models);
  absl::StatusOr<std::vector<v1::RuntimeModel>> LoadModels();

  /// Invocations accepted and not finished (docs/architecture.md#persistence):
  /// written before the client hears the id, moved to the finished ones when
  /// they finish. One transaction per batch, in this order of its parts.
  struct JournalBatch {
    std::vector<std::pair<std::string, std::string>> accepted;  // id, AcceptedInvocation
    struct Dispatch {
      std::string id;
      std::string worker_id;  // empty: queued again after `attempts`
      uint32_t attempts = 0;
      int64_t at_unix_nanos = 0;  // when it went to the worker
    };
    std::vector<Dispatch> dispatched;
    // id, serialized Invocation (DONE, with its result)
    std::vector<std::pair<std::string, std::string>> finished;
    // No longer retained, or never queued: whatever is recorded of them goes.
    std::vector<std::string> forgotten;
    bool empty() const {
      return accepted.empty() && dispatched.empty() && finished.empty() && forgotten.empty();
    }
  };
  /// All or none.
  absl::Status WriteJournal(const JournalBatch& batch);
  absl::Status PutAccepted(const v1::AcceptedInvocation& invocation);
  absl::Status DeleteAccepted(const std::string& id);
  /// Accepted and not finished, in order of arrival, each with its last
  /// dispatch (attempts, worker_id). DATA_LOSS when a record is corrupt.
  absl::StatusOr<std::vector<v1::AcceptedInvocation>> LoadAccepted();
  /// Finished invocations not yet forgotten, oldest first. DATA_LOSS when one is corrupt.
  absl::StatusOr<std::vector<v1::Invocation>> LoadFinished();

  /// Each function's call counters and recent execution times (in batches too).
  absl::Status PutHistories(const std::vector<v1::FunctionHistory>& histories);
  absl::StatusOr<std::vector<v1::FunctionHistory>> LoadHistories();

  /// The LLC predictor's benchmark curves, one per function and input size.
  absl::Status PutLlcProfile(const v1::LlcProfile& profile);
  absl::StatusOr<std::vector<v1::LlcProfile>> LoadLlcProfiles();

  /// Uploaded tasks (serialized v1::Task), by task id.
  absl::Status PutTask(const std::string& task_id, const std::string& task);
  absl::StatusOr<std::vector<std::string>> LoadTasks();

  /// Bearer tokens by name: their hash and role, never the token (token_registry.h).
  absl::Status PutToken(const v1::StoredToken& token);
  absl::StatusOr<std::vector<v1::StoredToken>> LoadTokens();

 private:
  explicit FunctionStore(sqlite3* db) : db_(db) {}
  // The WAL is checkpointed on a connection and thread of its own, so that
  // no commit waits for one (SQLite's autocheckpoint would run it, fsync
  // included, in whichever commit crosses the threshold: a caller's
  // acceptance). The writer's commits say when the WAL has grown.
  static int OnWalCommit(void* store, sqlite3* db, const char* name, int pages);
  void CheckpointLoop();
  // Rows of a (key TEXT PRIMARY KEY, body BLOB) table.
  absl::Status PutRow(const char* table, const std::string& key, const std::string& body)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<std::string>> LoadRows(const char* table,
                                                    const char* order_by = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  /// Several rows in one transaction: all or none.
  absl::Status PutRowsLocked(const char* table,
                             const std::vector<std::pair<std::string, std::string>>& rows)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  sqlite3* db_ ABSL_GUARDED_BY(mu_);
  // WriteJournal's statements, prepared on its first call.
  static constexpr int kJournalStatements = 9;
  std::array<sqlite3_stmt*, kJournalStatements> journal_statements_ ABSL_GUARDED_BY(mu_) = {};

  absl::Mutex checkpoint_mu_;
  sqlite3* checkpoint_db_ = nullptr;  // used by the checkpoint thread only
  bool checkpoint_wanted_ ABSL_GUARDED_BY(checkpoint_mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(checkpoint_mu_) = false;
  std::thread checkpointer_;
};

}  // namespace fsched::master
