#pragma once

#include <string>

namespace bracket_depth {

int max_depth(const std::string& text);

}  // namespace bracket_depth
