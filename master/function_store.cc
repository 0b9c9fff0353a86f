#include "master/function_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/proto_time.h"
#include "common/thread_name.h"

namespace fsched::master {
namespace {

absl::Status SqliteError(sqlite3* db, const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", sqlite3_errmsg(db)));
}

// Finalizes a statement on every path out of a function.
struct Statement {
  sqlite3_stmt* stmt = nullptr;
  ~Statement() { sqlite3_finalize(stmt); }
};

}  // namespace

absl::StatusOr<std::unique_ptr<FunctionStore>> FunctionStore::Open(const std::string& state_dir) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create state directory '", state_dir, "': ", ec.message()));
  }
  const std::string path = (std::filesystem::path(state_dir) / "fsched.db").string();
  sqlite3* db = nullptr;
  // No mutex of SQLite's own: every use of the connection is under mu_.
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    absl::Status status = absl::FailedPreconditionError(
        absl::StrCat("cannot open '", path, "': ", db ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_close(db);
    return status;
  }
  sqlite3_busy_timeout(db, 5000);
  std::unique_ptr<FunctionStore> store(new FunctionStore(db));
  absl::MutexLock lock(&store->mu_);
  // WAL keeps a registration durable without blocking readers; the WAL file
  // is cut back to 64 MiB when it restarts after a burst.
  for (const char* sql : {"PRAGMA journal_mode=WAL;", "PRAGMA synchronous=NORMAL;",
                          "PRAGMA journal_size_limit=67108864;",
                          "CREATE TABLE IF NOT EXISTS functions ("
                          "  name TEXT PRIMARY KEY,"
                          "  body BLOB NOT NULL);",
                          "CREATE TABLE IF NOT EXISTS runtime_models ("
                          "  name TEXT PRIMARY KEY,"
                          "  body BLOB NOT NULL);",
                          "CREATE TABLE IF NOT EXISTS llc_profiles ("
                          "  name TEXT PRIMARY KEY,"
                          "  body BLOB NOT NULL);",
                          "CREATE TABLE IF NOT EXISTS tasks ("
                          "  name TEXT PRIMARY KEY,"
                          "  body BLOB NOT NULL);",
                          "CREATE TABLE IF NOT EXISTS tokens ("
                          "  name TEXT PRIMARY KEY,"
                          "  body BLOB NOT NULL);",
                          "CREATE TABLE IF NOT EXISTS function_histories ("
                          "  name TEXT PRIMARY KEY,"
                          "  body BLOB NOT NULL);",
                          "CREATE TABLE IF NOT EXISTS accepted_invocations ("
                          "  name TEXT PRIMARY KEY,"
                          "  body BLOB NOT NULL);",
                          "CREATE TABLE IF NOT EXISTS invocation_dispatches ("
                          "  name TEXT PRIMARY KEY,"
                          "  worker TEXT NOT NULL,"
                          "  attempts INTEGER NOT NULL,"
                          "  at INTEGER NOT NULL);",
                          // rowid order is the order they finished in
                          "CREATE TABLE IF NOT EXISTS finished_invocations ("
                          "  name TEXT PRIMARY KEY,"
                          "  body BLOB NOT NULL);"}) {
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot initialise '", path, "': ", sqlite3_errmsg(db)));
    }
  }
  if (sqlite3_open_v2(path.c_str(), &store->checkpoint_db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot open '", path, "' a second time (to checkpoint it): ",
        store->checkpoint_db_ ? sqlite3_errmsg(store->checkpoint_db_) : "out of memory"));
  }
  sqlite3_busy_timeout(store->checkpoint_db_, 5000);
  // A connection knows the database is in WAL mode once it has read it;
  // until then a checkpoint on it does nothing at all.
  if (sqlite3_exec(store->checkpoint_db_, "PRAGMA journal_mode;", nullptr, nullptr, nullptr) !=
      SQLITE_OK) {
    return SqliteError(store->checkpoint_db_, "read the journal mode");
  }
  // Replaces the connection's autocheckpoint.
  sqlite3_wal_hook(db, &FunctionStore::OnWalCommit, store.get());
  store->checkpointer_ = std::thread([s = store.get()] { s->CheckpointLoop(); });
  return store;
}

int FunctionStore::OnWalCommit(void* store, sqlite3*, const char*, int pages) {
  // 16 MiB of WAL (SQLite's autocheckpoint: 1,000 pages): each checkpoint
  // ends with commits held off for its last frames, so fewer is better.
  constexpr int kCheckpointPages = 4096;
  if (pages >= kCheckpointPages) {
    auto* self = static_cast<FunctionStore*>(store);
    absl::MutexLock lock(&self->checkpoint_mu_);
    self->checkpoint_wanted_ = true;
  }
  return SQLITE_OK;
}

void FunctionStore::CheckpointLoop() {
  NameThisThread("checkpointer");
  for (;;) {
    {
      absl::MutexLock lock(&checkpoint_mu_);
      checkpoint_mu_.Await(absl::Condition(
          +[](FunctionStore* s)
               ABSL_NO_THREAD_SAFETY_ANALYSIS { return s->checkpoint_wanted_ || s->stopping_; },
          this));
      if (stopping_) return;
      checkpoint_wanted_ = false;
    }
    // PASSIVE: copies what it can while the writer goes on appending. The
    // writer starts the WAL over only if, when it begins a transaction, all
    // of it has been copied: under a steady stream of commits that moment
    // never comes, so the few frames added meanwhile are copied with commits
    // held off (a short pause, not the whole checkpoint's).
    int wal_pages = 0, copied = 0;
    int rc = sqlite3_wal_checkpoint_v2(checkpoint_db_, nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                       &wal_pages, &copied);
    if (rc == SQLITE_OK && wal_pages >= 0) {
      absl::MutexLock no_commits(&mu_);
      rc = sqlite3_wal_checkpoint_v2(checkpoint_db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &wal_pages,
                                     &copied);
    }
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
      FSCHED_LOG(kWarning, "checkpointing the state database failed: %s",
                 sqlite3_errmsg(checkpoint_db_));
    } else if (wal_pages < 0) {
      FSCHED_LOG(kWarning, "the state database is not in WAL mode: nothing to checkpoint");
    }
  }
}

FunctionStore::~FunctionStore() {
  if (checkpointer_.joinable()) {
    {
      absl::MutexLock lock(&checkpoint_mu_);
      stopping_ = true;
    }
    checkpointer_.join();
  }
  sqlite3_close(checkpoint_db_);
  // The last connection to close checkpoints what is left and removes the WAL.
  absl::MutexLock lock(&mu_);
  for (sqlite3_stmt* s : journal_statements_) sqlite3_finalize(s);
  sqlite3_close(db_);
}

absl::Status FunctionStore::Put(const v1::Function& function) {
  const std::string body = function.SerializeAsString();
  absl::MutexLock lock(&mu_);
  Statement st;
  if (sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO functions(name, body) VALUES(?, ?);", -1,
                         &st.stmt, nullptr) != SQLITE_OK) {
    return SqliteError(db_, "prepare insert");
  }
  sqlite3_bind_text(st.stmt, 1, function.spec().name().c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_blob(st.stmt, 2, body.data(), static_cast<int>(body.size()), SQLITE_TRANSIENT);
  if (sqlite3_step(st.stmt) != SQLITE_DONE) return SqliteError(db_, "store function");
  return absl::OkStatus();
}

absl::Status FunctionStore::Delete(const std::string& name) {
  absl::MutexLock lock(&mu_);
  for (const char* sql :
       {"DELETE FROM functions WHERE name = ?;", "DELETE FROM runtime_models WHERE name = ?;",
        "DELETE FROM function_histories WHERE name = ?;"}) {
    Statement st;
    if (sqlite3_prepare_v2(db_, sql, -1, &st.stmt, nullptr) != SQLITE_OK) {
      return SqliteError(db_, "prepare delete");
    }
    sqlite3_bind_text(st.stmt, 1, name.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st.stmt) != SQLITE_DONE) return SqliteError(db_, "delete function");
  }
  return absl::OkStatus();
}

absl::Status FunctionStore::PutModels(const std::vector<v1::RuntimeModel>& models) {
  std::vector<std::pair<std::string, std::string>> rows;
  for (const v1::RuntimeModel& model : models) {
    rows.emplace_back(model.function(), model.SerializeAsString());
  }
  absl::MutexLock lock(&mu_);
  return PutRowsLocked("runtime_models", rows);
}

absl::Status FunctionStore::PutHistories(const std::vector<v1::FunctionHistory>& histories) {
  std::vector<std::pair<std::string, std::string>> rows;
  for (const v1::FunctionHistory& history : histories) {
    rows.emplace_back(history.function(), history.SerializeAsString());
  }
  absl::MutexLock lock(&mu_);
  return PutRowsLocked("function_histories", rows);
}

absl::Status FunctionStore::PutRowsLocked(
    const char* table, const std::vector<std::pair<std::string, std::string>>& rows) {
  if (rows.empty()) return absl::OkStatus();
  // One transaction for the batch: one fsync instead of one per row.
  if (sqlite3_exec(db_, "BEGIN;", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return SqliteError(db_, "begin");
  }
  for (const auto& [key, body] : rows) {
    if (absl::Status stored = PutRow(table, key, body); !stored.ok()) {
      sqlite3_exec(db_, "ROLLBACK;", nullptr, nullptr, nullptr);
      return stored;
    }
  }
  if (sqlite3_exec(db_, "COMMIT;", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return SqliteError(db_, "commit");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> FunctionStore::LoadRows(const char* table,
                                                                 const char* order_by) {
  Statement st;
  const std::string sql =
      absl::StrCat("SELECT body FROM ", table,
                   order_by != nullptr ? absl::StrCat(" ORDER BY ", order_by) : "", ";");
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st.stmt, nullptr) != SQLITE_OK) {
    return SqliteError(db_, absl::StrCat("prepare select from ", table));
  }
  std::vector<std::string> out;
  int rc;
  while ((rc = sqlite3_step(st.stmt)) == SQLITE_ROW) {
    out.emplace_back(static_cast<const char*>(sqlite3_column_blob(st.stmt, 0)),
                     static_cast<size_t>(sqlite3_column_bytes(st.stmt, 0)));
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, absl::StrCat("read ", table));
  return out;
}

absl::Status FunctionStore::PutRow(const char* table, const std::string& key,
                                   const std::string& body) {
  Statement st;
  if (sqlite3_prepare_v2(
          db_, absl::StrCat("INSERT OR REPLACE INTO ", table, "(name, body) VALUES(?, ?);").c_str(),
          -1, &st.stmt, nullptr) != SQLITE_OK) {
    return SqliteError(db_, absl::StrCat("prepare insert into ", table));
  }
  sqlite3_bind_text(st.stmt, 1, key.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_blob(st.stmt, 2, body.data(), static_cast<int>(body.size()), SQLITE_TRANSIENT);
  if (sqlite3_step(st.stmt) != SQLITE_DONE) {
    return SqliteError(db_, absl::StrCat("store into ", table));
  }
  return absl::OkStatus();
}

template <typename Message>
absl::StatusOr<std::vector<Message>> ParseRows(absl::StatusOr<std::vector<std::string>> rows,
                                               const char* what) {
  if (!rows.ok()) return rows.status();
  std::vector<Message> out(rows->size());
  for (size_t i = 0; i < rows->size(); ++i) {
    if (!out[i].ParseFromString((*rows)[i])) {
      return absl::DataLossError(absl::StrCat("a stored ", what, " is corrupt"));
    }
  }
  return out;
}

absl::StatusOr<std::vector<v1::RuntimeModel>> FunctionStore::LoadModels() {
  absl::MutexLock lock(&mu_);
  return ParseRows<v1::RuntimeModel>(LoadRows("runtime_models"), "runtime model");
}

absl::Status FunctionStore::PutAccepted(const v1::AcceptedInvocation& invocation) {
  JournalBatch batch;
  batch.accepted.emplace_back(invocation.id(), invocation.SerializeAsString());
  return WriteJournal(batch);
}

absl::Status FunctionStore::DeleteAccepted(const std::string& id) {
  JournalBatch batch;
  batch.forgotten.push_back(id);
  return WriteJournal(batch);
}

absl::Status FunctionStore::WriteJournal(const JournalBatch& batch) {
  if (batch.empty()) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  // Statements prepared once for the store's life and bound per row: the
  // journal writes a batch every few hundred microseconds under load.
  enum { kAccept, kDispatch, kRequeued, kUnaccept, kUndispatch, kKeep, kForget, kBegin, kCommit };
  static_assert(kCommit + 1 == kJournalStatements);
  static constexpr const char* kSql[kJournalStatements] = {
      "INSERT OR REPLACE INTO accepted_invocations(name, body) VALUES(?1, ?2);",
      "INSERT OR REPLACE INTO invocation_dispatches(name, worker, attempts, at) "
      "VALUES(?1, ?2, ?3, ?4);",
      "INSERT OR REPLACE INTO invocation_dispatches(name, worker, attempts, at) "
      "VALUES(?1, '', ?3, 0);",
      "DELETE FROM accepted_invocations WHERE name = ?1;",
      "DELETE FROM invocation_dispatches WHERE name = ?1;",
      "INSERT OR REPLACE INTO finished_invocations(name, body) VALUES(?1, ?2);",
      "DELETE FROM finished_invocations WHERE name = ?1;",
      "BEGIN;",
      "COMMIT;",
  };
  sqlite3_stmt** st = journal_statements_.data();
  if (st[0] == nullptr) {
    for (int i = 0; i < kJournalStatements; ++i) {
      if (sqlite3_prepare_v2(db_, kSql[i], -1, &st[i], nullptr) != SQLITE_OK) {
        absl::Status error = SqliteError(db_, "prepare the invocation journal's statements");
        for (sqlite3_stmt*& s : journal_statements_) {
          sqlite3_finalize(s);
          s = nullptr;
        }
        return error;
      }
    }
  }
  const auto step = [&](int which) {
    const bool done = sqlite3_step(st[which]) == SQLITE_DONE;
    sqlite3_reset(st[which]);
    sqlite3_clear_bindings(st[which]);  // they point into this batch
    return done;
  };
  if (!step(kBegin)) return SqliteError(db_, "begin");
  const auto fail = [&](const char* what) {
    absl::Status error = SqliteError(db_, what);
    sqlite3_exec(db_, "ROLLBACK;", nullptr, nullptr, nullptr);
    return error;
  };
  const auto run = [&](int which, const std::string& id, const std::string* body, int64_t number,
                       int64_t at = 0) {
    sqlite3_stmt* s = st[which];
    sqlite3_bind_text(s, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
    if (body != nullptr) {
      if (which == kDispatch) {
        sqlite3_bind_text(s, 2, body->data(), static_cast<int>(body->size()), SQLITE_STATIC);
      } else {
        sqlite3_bind_blob(s, 2, body->data(), static_cast<int>(body->size()), SQLITE_STATIC);
      }
    }
    if (which == kDispatch || which == kRequeued) sqlite3_bind_int64(s, 3, number);
    if (which == kDispatch) sqlite3_bind_int64(s, 4, at);
    return step(which);
  };
  for (const auto& [id, body] : batch.accepted) {
    if (!run(kAccept, id, &body, 0)) return fail("record an accepted invocation");
  }
  for (const JournalBatch::Dispatch& d : batch.dispatched) {
    const bool ok = d.worker_id.empty()
                        ? run(kRequeued, d.id, nullptr, d.attempts)
                        : run(kDispatch, d.id, &d.worker_id, d.attempts, d.at_unix_nanos);
    if (!ok) return fail("record a dispatch");
  }
  // Finished or forgotten, an invocation is no longer accepted nor dispatched.
  const auto settle = [&](const std::string& id) {
    return run(kUnaccept, id, nullptr, 0) && run(kUndispatch, id, nullptr, 0);
  };
  for (const auto& [id, body] : batch.finished) {
    if (!settle(id) || !run(kKeep, id, &body, 0)) return fail("keep a finished invocation");
  }
  for (const std::string& id : batch.forgotten) {
    if (!run(kForget, id, nullptr, 0)) return fail("forget an invocation");
    // One whose finish was written was settled by it (the common case: a
    // result the master no longer retains); only one that never finished
    // (discarded, or its finish failed to write) may have rows left.
    if (sqlite3_changes(db_) == 0 && !settle(id)) return fail("forget an invocation");
  }
  if (!step(kCommit)) return fail("commit");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::AcceptedInvocation>> FunctionStore::LoadAccepted() {
  absl::StatusOr<std::vector<v1::AcceptedInvocation>> accepted;
  struct Dispatch {
    std::string worker_id;
    uint32_t attempts = 0;
    int64_t at_unix_nanos = 0;
  };
  absl::flat_hash_map<std::string, Dispatch> dispatches;
  {
    absl::MutexLock lock(&mu_);
    accepted =
        ParseRows<v1::AcceptedInvocation>(LoadRows("accepted_invocations"), "accepted invocation");
    if (!accepted.ok()) return accepted;
    Statement st;
    if (sqlite3_prepare_v2(db_, "SELECT name, worker, attempts, at FROM invocation_dispatches;", -1,
                           &st.stmt, nullptr) != SQLITE_OK) {
      return SqliteError(db_, "prepare select from invocation_dispatches");
    }
    int rc;
    while ((rc = sqlite3_step(st.stmt)) == SQLITE_ROW) {
      const auto text = [&](int column) {
        const unsigned char* t = sqlite3_column_text(st.stmt, column);
        return t == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(t));
      };
      dispatches[text(0)] = {text(1), static_cast<uint32_t>(sqlite3_column_int64(st.stmt, 2)),
                             sqlite3_column_int64(st.stmt, 3)};
    }
    if (rc != SQLITE_DONE) return SqliteError(db_, "read invocation_dispatches");
  }
  for (v1::AcceptedInvocation& a : *accepted) {
    const auto d = dispatches.find(a.id());
    if (d == dispatches.end()) continue;
    a.set_worker_id(d->second.worker_id);
    a.set_attempts(d->second.attempts);
    if (!a.worker_id().empty()) {
      ToProto(absl::FromUnixNanos(d->second.at_unix_nanos), a.mutable_dispatched());
    }
  }
  std::stable_sort(accepted->begin(), accepted->end(), [](const auto& a, const auto& b) {
    return std::make_pair(a.submitted().seconds(), a.submitted().nanos()) <
           std::make_pair(b.submitted().seconds(), b.submitted().nanos());
  });
  return accepted;
}

absl::StatusOr<std::vector<v1::Invocation>> FunctionStore::LoadFinished() {
  absl::MutexLock lock(&mu_);
  return ParseRows<v1::Invocation>(LoadRows("finished_invocations", "rowid"),
                                   "finished invocation");
}

absl::StatusOr<std::vector<v1::FunctionHistory>> FunctionStore::LoadHistories() {
  absl::MutexLock lock(&mu_);
  return ParseRows<v1::FunctionHistory>(LoadRows("function_histories"), "function history");
}

absl::Status FunctionStore::PutLlcProfile(const v1::LlcProfile& profile) {
  absl::MutexLock lock(&mu_);
  return PutRow("llc_profiles", absl::StrCat(profile.function(), "@", profile.input_size()),
                profile.SerializeAsString());
}

absl::Status FunctionStore::PutTask(const std::string& task_id, const std::string& task) {
  absl::MutexLock lock(&mu_);
  return PutRow("tasks", task_id, task);
}

absl::StatusOr<std::vector<std::string>> FunctionStore::LoadTasks() {
  absl::MutexLock lock(&mu_);
  return LoadRows("tasks");
}

absl::Status FunctionStore::PutToken(const v1::StoredToken& token) {
  absl::MutexLock lock(&mu_);
  return PutRow("tokens", token.info().name(), token.SerializeAsString());
}

absl::StatusOr<std::vector<v1::StoredToken>> FunctionStore::LoadTokens() {
  absl::MutexLock lock(&mu_);
  return ParseRows<v1::StoredToken>(LoadRows("tokens"), "token");
}

absl::StatusOr<std::vector<v1::LlcProfile>> FunctionStore::LoadLlcProfiles() {
  absl::MutexLock lock(&mu_);
  return ParseRows<v1::LlcProfile>(LoadRows("llc_profiles"), "cache profile");
}

absl::StatusOr<std::vector<v1::Function>> FunctionStore::LoadAll() {
  absl::MutexLock lock(&mu_);
  Statement st;
  if (sqlite3_prepare_v2(db_, "SELECT name, body FROM functions ORDER BY name;", -1, &st.stmt,
                         nullptr) != SQLITE_OK) {
    return SqliteError(db_, "prepare select");
  }
  std::vector<v1::Function> out;
  int rc;
  while ((rc = sqlite3_step(st.stmt)) == SQLITE_ROW) {
    v1::Function function;
    const void* blob = sqlite3_column_blob(st.stmt, 1);
    const int size = sqlite3_column_bytes(st.stmt, 1);
    if (!function.ParseFromArray(blob, size)) {
      return absl::DataLossError(absl::StrCat(
          "stored function '", reinterpret_cast<const char*>(sqlite3_column_text(st.stmt, 0)),
          "' is corrupt"));
    }
    out.push_back(std::move(function));
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, "read functions");
  return out;
}

}  // namespace fsched::master
