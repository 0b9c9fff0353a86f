#include "http/task_upload.h"

#include <civetweb.h>

#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc_status.h"
#include "fsched/v1/controller.grpc.pb.h"

namespace fsched::http {
namespace {

constexpr char kUsage[] =
    "POST /controller/task/new takes a multipart form with the task's tar archive in a "
    "\"file\" field (curl -F file=@task.tar)";
// Chunks of the stream: what civetweb hands over (a few KiB at a time) is
// gathered to this size before it is written.
constexpr size_t kChunkBytes = 64 << 10;

struct Upload {
  v1::Controller::Stub* stub = nullptr;
  const CallOptions* call = nullptr;
  grpc::ClientContext ctx;
  v1::Task task;
  std::unique_ptr<grpc::ClientWriter<v1::UploadTaskChunk>> writer;
  std::string name;
  std::string pending;
  bool named = false;     // the first chunk (which carries the name) was written
  bool refused = false;   // a write failed: the master ended the stream
  bool finished = false;  // the form was read to its end

  void Flush() {
    if (refused) return;
    v1::UploadTaskChunk chunk;
    if (!named) chunk.set_name(name);
    named = true;
    chunk.set_data(std::move(pending));
    pending.clear();
    if (!writer->Write(chunk)) refused = true;
  }
};

int OnField(const char* key, const char* filename, char*, size_t, void* user) {
  Upload& u = *static_cast<Upload*>(user);
  if (std::string_view(key) != "file" || u.writer != nullptr) return MG_FORM_FIELD_STORAGE_SKIP;
  u.name = std::filesystem::path(filename != nullptr ? filename : "").filename().string();
  if (u.name.empty()) u.name = "task";
  if (u.call->authorization) u.ctx.AddMetadata("authorization", *u.call->authorization);
  u.writer = u.stub->UploadTask(&u.ctx, &u.task);
  return MG_FORM_FIELD_STORAGE_GET;
}

int OnData(const char*, const char* value, size_t length, void* user) {
  Upload& u = *static_cast<Upload*>(user);
  u.pending.append(value, length);
  if (u.pending.size() >= kChunkBytes) u.Flush();
  return u.refused ? MG_FORM_FIELD_HANDLE_ABORT : MG_FORM_FIELD_HANDLE_GET;
}

}  // namespace

TaskUpload UploadTaskFromForm(mg_connection* conn, const std::shared_ptr<grpc::Channel>& channel,
                              const CallOptions& call) {
  const char* type = mg_get_header(conn, "Content-Type");
  if (type == nullptr || !absl::StartsWithIgnoreCase(type, "multipart/form-data")) {
    return {absl::InvalidArgumentError(kUsage), true};
  }
  auto stub = v1::Controller::NewStub(channel);
  Upload u;
  u.stub = stub.get();
  u.call = &call;
  mg_form_data_handler handler{};
  handler.field_found = &OnField;
  handler.field_get = &OnData;
  handler.user_data = &u;
  const int fields = mg_handle_form_request(conn, &handler);
  if (u.writer == nullptr) {
    return {absl::InvalidArgumentError(
                fields < 0 ? absl::StrCat(kUsage, ": the form could not be read") : kUsage),
            fields < 0};
  }
  if (fields < 0) {
    // The form broke off: what arrived is not the whole file, so the upload is
    // cancelled rather than finished.
    u.ctx.TryCancel();
    (void)u.writer->Finish();  // CANCELLED, by us
    return {absl::InvalidArgumentError(absl::StrCat(kUsage, ": the form ended early")), true};
  }
  u.Flush();  // the rest, or the named empty first chunk of an empty file
  u.writer->WritesDone();
  const grpc::Status status = u.writer->Finish();
  if (!status.ok()) return {FromGrpcStatus(status), u.refused};
  return {std::move(u.task), false};
}

}  // namespace fsched::http
