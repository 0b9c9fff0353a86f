// Client side of the master's chunked uploads (Controller.UploadRootfs,
// Controller.UploadTask): the stream is read in chunks of a bounded size, the
// first chunk carries the header (the announced digest, the task's name), and
// the master's answer or refusal comes back as the call's status. Shared by
// fschedctl and the integration tests.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <istream>
#include <string>

#include "absl/status/statusor.h"
#include "fsched/v1/controller.grpc.pb.h"

namespace fsched::ctl {

inline constexpr size_t kUploadChunkBytes = 1 << 20;

/// "sha256:<hex>" of everything `in` holds; `in` is rewound afterwards, so the
/// digest can be announced before the bytes are sent.
absl::StatusOr<std::string> DigestOf(std::istream& in);

/// Stores a root filesystem archive announced as `digest`; the master refuses
/// bytes that do not hash to it (DATA_LOSS) and keeps nothing then.
grpc::Status UploadRootfs(v1::Controller::StubInterface* controller, grpc::ClientContext* context,
                          const std::string& digest, std::istream& archive, v1::Rootfs* stored,
                          size_t chunk_bytes = kUploadChunkBytes);

/// Stores a task (a tar of its files) under `name`.
grpc::Status UploadTask(v1::Controller::StubInterface* controller, grpc::ClientContext* context,
                        const std::string& name, std::istream& archive, v1::Task* stored,
                        size_t chunk_bytes = kUploadChunkBytes);

}  // namespace fsched::ctl
