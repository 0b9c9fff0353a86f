#include "worker/container_engine.h"

#include "common/log.h"

namespace fsched::worker {

void ContainerEngine::RemoveLeftovers(const std::string& id_prefix) const {
  absl::StatusOr<std::vector<std::string>> ids = ListIds();
  if (!ids.ok()) return;  // no state yet (runc's root not created): nothing was left
  for (const std::string& id : *ids) {
    if (!id.starts_with(id_prefix)) continue;
    FSCHED_LOG(kInfo, "removing container %s left by a worker that died", id);
    EngineInstance leftover;
    leftover.id = id;
    Remove(leftover);
  }
}

}  // namespace fsched::worker
