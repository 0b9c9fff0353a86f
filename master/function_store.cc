#include "master/function_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"

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
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    absl::Status status = absl::FailedPreconditionError(
        absl::StrCat("cannot open '", path, "': ", db ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_close(db);
    return status;
  }
  sqlite3_busy_timeout(db, 5000);
  std::unique_ptr<FunctionStore> store(new FunctionStore(db));
  absl::MutexLock lock(&store->mu_);
  // WAL keeps a registration durable without blocking readers.
  for (const char* sql : {"PRAGMA journal_mode=WAL;", "PRAGMA synchronous=NORMAL;",
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
                          "  body BLOB NOT NULL);"}) {
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot initialise '", path, "': ", sqlite3_errmsg(db)));
    }
  }
  return store;
}

FunctionStore::~FunctionStore() {
  absl::MutexLock lock(&mu_);
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

absl::StatusOr<std::vector<std::string>> FunctionStore::LoadRows(const char* table) {
  Statement st;
  if (sqlite3_prepare_v2(db_, absl::StrCat("SELECT body FROM ", table, ";").c_str(), -1, &st.stmt,
                         nullptr) != SQLITE_OK) {
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
  absl::MutexLock lock(&mu_);
  return PutRow("accepted_invocations", invocation.id(), invocation.SerializeAsString());
}

absl::Status FunctionStore::DeleteAccepted(const std::string& id) {
  absl::MutexLock lock(&mu_);
  return DeleteAcceptedLocked(id);
}

absl::Status FunctionStore::WriteAccepted(
    const std::vector<std::pair<std::string, std::string>>& accepted,
    const std::vector<std::string>& finished) {
  if (accepted.empty() && finished.empty()) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  // Two statements prepared once for the whole group, bound per row: a group
  // under load holds hundreds of rows.
  Statement insert, remove;
  if (sqlite3_prepare_v2(db_,
                         "INSERT OR REPLACE INTO accepted_invocations(name, body) VALUES(?, ?);",
                         -1, &insert.stmt, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db_, "DELETE FROM accepted_invocations WHERE name = ?;", -1, &remove.stmt,
                         nullptr) != SQLITE_OK) {
    return SqliteError(db_, "prepare the accepted invocations' statements");
  }
  if (sqlite3_exec(db_, "BEGIN;", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return SqliteError(db_, "begin");
  }
  const auto fail = [&](const char* what) {
    absl::Status error = SqliteError(db_, what);
    sqlite3_exec(db_, "ROLLBACK;", nullptr, nullptr, nullptr);
    return error;
  };
  for (const auto& [id, body] : accepted) {
    sqlite3_reset(insert.stmt);
    sqlite3_bind_text(insert.stmt, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
    sqlite3_bind_blob(insert.stmt, 2, body.data(), static_cast<int>(body.size()), SQLITE_STATIC);
    if (sqlite3_step(insert.stmt) != SQLITE_DONE) return fail("record an accepted invocation");
  }
  for (const std::string& id : finished) {
    sqlite3_reset(remove.stmt);
    sqlite3_bind_text(remove.stmt, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
    if (sqlite3_step(remove.stmt) != SQLITE_DONE) return fail("forget a finished invocation");
  }
  if (sqlite3_exec(db_, "COMMIT;", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return fail("commit");
  }
  return absl::OkStatus();
}

absl::Status FunctionStore::DeleteAcceptedLocked(const std::string& id) {
  Statement st;
  if (sqlite3_prepare_v2(db_, "DELETE FROM accepted_invocations WHERE name = ?;", -1, &st.stmt,
                         nullptr) != SQLITE_OK) {
    return SqliteError(db_, "prepare delete of an accepted invocation");
  }
  sqlite3_bind_text(st.stmt, 1, id.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(st.stmt) != SQLITE_DONE) {
    return SqliteError(db_, "delete an accepted invocation");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::AcceptedInvocation>> FunctionStore::LoadAccepted() {
  absl::StatusOr<std::vector<v1::AcceptedInvocation>> accepted;
  {
    absl::MutexLock lock(&mu_);
    accepted =
        ParseRows<v1::AcceptedInvocation>(LoadRows("accepted_invocations"), "accepted invocation");
  }
  if (!accepted.ok()) return accepted;
  std::stable_sort(accepted->begin(), accepted->end(), [](const auto& a, const auto& b) {
    return std::make_pair(a.submitted().seconds(), a.submitted().nanos()) <
           std::make_pair(b.submitted().seconds(), b.submitted().nanos());
  });
  return accepted;
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
