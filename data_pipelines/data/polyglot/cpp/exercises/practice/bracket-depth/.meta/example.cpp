#include "bracket_depth.h"

#include <algorithm>
#include <vector>

namespace bracket_depth {

int max_depth(const std::string& text) {
  std::vector<char> open;
  int deepest = 0;
  for (char c : text) {
    if (c == '(' || c == '[' || c == '{') {
      open.push_back(c);
      deepest = std::max(deepest, static_cast<int>(open.size()));
    } else if (c == ')' || c == ']' || c == '}') {
      const char expected = c == ')' ? '(' : (c == ']' ? '[' : '{');
      if (open.empty() || open.back() != expected) return -1;
      open.pop_back();
    }
  }
  return open.empty() ? deepest : -1;
}

}  // namespace bracket_depth
