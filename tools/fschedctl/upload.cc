#include "tools/fschedctl/upload.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"

namespace fsched::ctl {
namespace {

// Writes `header` with the first chunk and data alone after it. An empty
// archive still sends the header, so the master answers with its own error.
template <typename Chunk>
grpc::Status WriteChunks(grpc::ClientWriterInterface<Chunk>* writer, Chunk header,
                         std::istream& archive, size_t chunk_bytes) {
  std::string buffer(chunk_bytes == 0 ? kUploadChunkBytes : chunk_bytes, '\0');
  Chunk chunk = std::move(header);
  bool first = true;
  while (archive) {
    archive.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const size_t n = static_cast<size_t>(archive.gcount());
    if (n == 0 && !first) break;
    chunk.set_data(buffer.data(), n);
    if (!writer->Write(chunk)) break;  // the master ended the call; Finish says why
    chunk = Chunk();
    first = false;
    if (n == 0) break;
  }
  if (archive.bad()) {
    writer->WritesDone();
    (void)writer->Finish();
    return grpc::Status(grpc::StatusCode::DATA_LOSS, "reading the archive failed midway");
  }
  writer->WritesDone();
  return writer->Finish();
}

}  // namespace

absl::StatusOr<std::string> DigestOf(std::istream& in) {
  Sha256 hash;
  std::string buffer(kUploadChunkBytes, '\0');
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    hash.Update(absl::string_view(buffer.data(), static_cast<size_t>(in.gcount())));
  }
  if (in.bad()) return absl::DataLossError("reading the archive failed midway");
  in.clear();
  in.seekg(0);
  if (!in) return absl::FailedPreconditionError("the archive cannot be read twice (not a file?)");
  return hash.Digest();
}

grpc::Status UploadRootfs(v1::Controller::StubInterface* controller, grpc::ClientContext* context,
                          const std::string& digest, std::istream& archive, v1::Rootfs* stored,
                          size_t chunk_bytes) {
  v1::UploadRootfsChunk header;
  header.set_digest(digest);
  std::unique_ptr<grpc::ClientWriterInterface<v1::UploadRootfsChunk>> writer =
      controller->UploadRootfs(context, stored);
  return WriteChunks(writer.get(), std::move(header), archive, chunk_bytes);
}

grpc::Status UploadTask(v1::Controller::StubInterface* controller, grpc::ClientContext* context,
                        const std::string& name, std::istream& archive, v1::Task* stored,
                        size_t chunk_bytes) {
  v1::UploadTaskChunk header;
  header.set_name(name);
  std::unique_ptr<grpc::ClientWriterInterface<v1::UploadTaskChunk>> writer =
      controller->UploadTask(context, stored);
  return WriteChunks(writer.get(), std::move(header), archive, chunk_bytes);
}

}  // namespace fsched::ctl
