#include "tools/fsched-bench/arrivals.h"

#include <cmath>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace fsched::bench {
namespace {

// One thread per user: beyond this the driver, not the cluster, is measured.
constexpr int kMaxUsers = 1000;

}  // namespace

absl::StatusOr<std::vector<absl::Duration>> PoissonArrivals(double rate, absl::Duration duration,
                                                            uint64_t seed) {
  if (!(rate > 0) || !std::isfinite(rate)) {
    return absl::InvalidArgumentError(absl::StrCat("rate ", rate, " is not a positive number"));
  }
  if (duration <= absl::ZeroDuration() || duration == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("duration ", absl::FormatDuration(duration), " is not positive and finite"));
  }
  // mt19937_64 is fully specified by the standard, the standard distributions
  // are not: draw the exponential gaps by inversion from 53 raw bits, so a seed
  // gives the same schedule with any compiler or library.
  std::mt19937_64 rng(seed);
  const auto gap = [&] {
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;  // [0, 1)
    return -std::log1p(-u) / rate;
  };
  const double end = absl::ToDoubleSeconds(duration);
  std::vector<absl::Duration> out;
  out.reserve(static_cast<size_t>(rate * end * 1.1) + 16);
  for (double t = gap(); t < end; t += gap()) out.push_back(absl::Seconds(t));
  return out;
}

absl::StatusOr<std::vector<double>> ParseRates(const std::string& text) {
  std::vector<double> rates;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    double rate = 0;
    if (!absl::SimpleAtod(item, &rate) || !(rate > 0) || !std::isfinite(rate)) {
      return absl::InvalidArgumentError(
          absl::StrCat("rate '", std::string(item), "' is not a positive number of requests/s"));
    }
    rates.push_back(rate);
  }
  if (rates.empty()) return absl::InvalidArgumentError("no rate given (e.g. 2,5,15)");
  return rates;
}

absl::StatusOr<std::vector<int>> ParseUsers(const std::string& text) {
  std::vector<int> users;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    int n = 0;
    if (!absl::SimpleAtoi(item, &n) || n < 1 || n > kMaxUsers) {
      return absl::InvalidArgumentError(absl::StrCat(
          "stage '", std::string(item), "' is not a number of users from 1 to ", kMaxUsers));
    }
    users.push_back(n);
  }
  if (users.empty()) return absl::InvalidArgumentError("no stage given (e.g. 2,5,10,20,40)");
  return users;
}

}  // namespace fsched::bench
