// Seed 003's POST /controller/task/new: the "file" field of a multipart form,
// streamed as it arrives into Controller.UploadTask (never the whole file in
// memory), the task named by the file's name.
#pragma once

#include <grpcpp/channel.h>

#include <memory>

#include "absl/status/statusor.h"
#include "fsched/v1/controller.pb.h"
#include "http/grpc_bridge.h"

struct mg_connection;

namespace fsched::http {

struct TaskUpload {
  absl::StatusOr<v1::Task> task;
  // Part of the request body was not read (the upload was refused midway):
  // the connection must close after the answer.
  bool body_left = false;
};

/// INVALID_ARGUMENT when the request is not a multipart form with a "file"
/// field; otherwise what UploadTask answered (the master checks the archive
/// and its size).
TaskUpload UploadTaskFromForm(mg_connection* conn, const std::shared_ptr<grpc::Channel>& channel,
                              const CallOptions& call);

}  // namespace fsched::http
