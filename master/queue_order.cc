#include "master/queue_order.h"

#include "absl/strings/str_cat.h"
#include "master/fifo_order.h"

namespace fsched::master {

absl::StatusOr<std::unique_ptr<QueueOrder>> MakeQueueOrder(std::string_view name) {
  if (name == "fifo") return std::make_unique<FifoOrder>();
  return absl::InvalidArgumentError(
      absl::StrCat("unknown queue order '", std::string(name), "' (known: fifo)"));
}

}  // namespace fsched::master
