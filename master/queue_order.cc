#include "master/queue_order.h"

#include "absl/strings/str_cat.h"
#include "master/aging_srtf_order.h"
#include "master/fifo_order.h"
#include "master/srtf_v5_order.h"

namespace fsched::master {

absl::StatusOr<std::unique_ptr<QueueOrder>> MakeQueueOrder(std::string_view name,
                                                           const QueueOrderOptions& options) {
  if (name == "fifo") return std::make_unique<FifoOrder>();
  if (name == "srtf") {
    return std::make_unique<AgingSrtfOrder>(0.0, absl::InfiniteDuration(), "srtf");
  }
  if (name == "aging-srtf") {
    return std::make_unique<AgingSrtfOrder>(options.aging_rate, options.max_wait, "aging-srtf");
  }
  if (name == "srtf-v5") return std::make_unique<SrtfV5Order>();
  return absl::InvalidArgumentError(absl::StrCat("unknown queue order '", std::string(name),
                                                 "' (known: fifo, srtf, aging-srtf, srtf-v5)"));
}

}  // namespace fsched::master
