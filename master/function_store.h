// The master's durable state: one SQLite file under its state directory, so
// registered functions, what was learned about them, tasks and tokens survive a restart.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "fsched/v1/auth.pb.h"
#include "fsched/v1/types.pb.h"

struct sqlite3;

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
  /// written before the client hears the id, deleted when they finish.
  absl::Status PutAccepted(const v1::AcceptedInvocation& invocation);
  absl::Status DeleteAccepted(const std::string& id);
  /// Both at once, in one transaction: `accepted` as (id, serialized
  /// AcceptedInvocation) rows, `finished` ids deleted. All or none.
  absl::Status WriteAccepted(const std::vector<std::pair<std::string, std::string>>& accepted,
                             const std::vector<std::string>& finished);
  /// In order of arrival. DATA_LOSS when a record is corrupt.
  absl::StatusOr<std::vector<v1::AcceptedInvocation>> LoadAccepted();

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
  // Rows of a (key TEXT PRIMARY KEY, body BLOB) table.
  absl::Status PutRow(const char* table, const std::string& key, const std::string& body)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<std::string>> LoadRows(const char* table)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status DeleteAcceptedLocked(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  /// Several rows in one transaction: all or none.
  absl::Status PutRowsLocked(const char* table,
                             const std::vector<std::pair<std::string, std::string>>& rows)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  sqlite3* db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fsched::master
