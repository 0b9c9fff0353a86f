// A min-heap with four children per node. For the queue orders' 16-byte keys
// the four children share one cache line, and the tree is half as deep as a
// binary heap's, so a pop on a deep queue touches about half as many lines.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace fsched::scheduling {

/// `Less(a, b)` is true when a must come out before b.
template <typename T, typename Less>
class QuaternaryHeap {
 public:
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  const T& top() const { return items_.front(); }

  void push(T item) {
    size_t i = items_.size();
    items_.push_back(item);
    while (i > 0) {
      const size_t parent = (i - 1) / 4;
      if (!less_(item, items_[parent])) break;
      items_[i] = items_[parent];
      i = parent;
    }
    items_[i] = item;
  }

  void pop() {
    const T last = items_.back();
    items_.pop_back();
    if (items_.empty()) return;
    size_t i = 0;
    const size_t n = items_.size();
    while (true) {
      const size_t first = 4 * i + 1;
      if (first >= n) break;
      size_t best = first;
      const size_t end = first + 4 < n ? first + 4 : n;
      for (size_t c = first + 1; c < end; ++c) {
        if (less_(items_[c], items_[best])) best = c;
      }
      if (!less_(items_[best], last)) break;
      items_[i] = items_[best];
      i = best;
    }
    items_[i] = last;
  }

 private:
  std::vector<T> items_;
  [[no_unique_address]] Less less_;
};

}  // namespace fsched::scheduling
