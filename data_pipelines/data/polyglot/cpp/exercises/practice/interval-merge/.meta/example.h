#pragma once

#include <utility>
#include <vector>

namespace interval_merge {

std::vector<std::pair<int, int>> merge(std::vector<std::pair<int, int>> intervals);

}  // namespace interval_merge
