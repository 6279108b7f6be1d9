#include "interval_merge.h"

#include <algorithm>
#include <stdexcept>

namespace interval_merge {

std::vector<std::pair<int, int>> merge(std::vector<std::pair<int, int>> intervals) {
  for (const auto& interval : intervals) {
    if (interval.first > interval.second) throw std::invalid_argument("interval start is after its end");
  }
  std::sort(intervals.begin(), intervals.end());
  std::vector<std::pair<int, int>> merged;
  for (const auto& interval : intervals) {
    if (!merged.empty() && interval.first <= merged.back().second) {
      merged.back().second = std::max(merged.back().second, interval.second);
    } else {
      merged.push_back(interval);
    }
  }
  return merged;
}

}  // namespace interval_merge
