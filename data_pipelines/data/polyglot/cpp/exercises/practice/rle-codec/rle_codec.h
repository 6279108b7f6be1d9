#pragma once

#include <string>

namespace rle_codec {

std::string encode(const std::string& text);
std::string decode(const std::string& text);

}  // namespace rle_codec
