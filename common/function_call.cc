#include "common/function_call.h"

#include "absl/strings/str_cat.h"

namespace fsched {

bool IsPersistent(const v1::FunctionSpec& spec) {
  return spec.lifetime() == v1::LIFETIME_PERSISTENT || !spec.language().empty();
}

absl::Status CheckCallFits(const v1::InvokeRequest& request, const v1::FunctionSpec& spec) {
  if (request.args_size() > 0 && IsPersistent(spec)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "function ", spec.name(),
        " runs in persistent instances started once; a call carries a payload, not args "
        "(fschedctl invoke NAME --payload S)"));
  }
  return absl::OkStatus();
}

}  // namespace fsched
