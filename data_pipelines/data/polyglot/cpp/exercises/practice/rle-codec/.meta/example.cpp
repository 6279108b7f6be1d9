#include "rle_codec.h"

#include <cctype>
#include <stdexcept>

namespace rle_codec {

std::string encode(const std::string& text) {
  std::string encoded;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t j = i;
    while (j < text.size() && text[j] == text[i]) ++j;
    if (j - i > 1) encoded += std::to_string(j - i);
    encoded += text[i];
    i = j;
  }
  return encoded;
}

std::string decode(const std::string& text) {
  std::string decoded;
  std::size_t count = 0;
  bool have_count = false;
  for (char c : text) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      count = count * 10 + static_cast<std::size_t>(c - '0');
      have_count = true;
    } else {
      decoded.append(have_count ? count : 1, c);
      count = 0;
      have_count = false;
    }
  }
  if (have_count) throw std::invalid_argument("a count must be followed by a character");
  return decoded;
}

}  // namespace rle_codec
