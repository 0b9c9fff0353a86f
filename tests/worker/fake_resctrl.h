// A fake /sys/fs/resctrl laid out like the kernel's: info/L3 (cbm_mask,
// num_closids, min_cbm_bits, shareable_bits), info/last_cmd_status, and the
// root group's schemata (two L3 caches, ids 0 and 1, plus an MB line) and tasks.
#pragma once

#include <string>

namespace fsched::worker::testing {

void MakeFakeResctrl(const std::string& root, const std::string& cbm_mask = "fffff",
                     int num_closids = 4, int min_cbm_bits = 1,
                     const std::string& shareable_bits = "0");

/// The whole text of a file ("" when absent).
std::string ReadText(const std::string& path);

/// The "L3:..." line of the root group's schemata under `root` ("" when none).
std::string RootL3Line(const std::string& root);

}  // namespace fsched::worker::testing
