#include "protocols/base64.hpp"

#include <array>
#include <cstdint>

namespace xr {
namespace {

constexpr char kStd[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string encode(std::string_view in, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    std::uint32_t v = (std::uint8_t(in[i]) << 16) | (std::uint8_t(in[i + 1]) << 8) |
                      std::uint8_t(in[i + 2]);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  std::size_t rest = in.size() - i;
  if (rest > 0) {
    std::uint32_t v = std::uint8_t(in[i]) << 16;
    if (rest == 2) v |= std::uint8_t(in[i + 1]) << 8;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    if (rest == 2) out += alphabet[(v >> 6) & 63];
    if (pad) out.append(rest == 1 ? "==" : "=");
  }
  return out;
}

std::array<int, 256> table(const char* alphabet) {
  std::array<int, 256> t{};
  t.fill(-1);
  for (int i = 0; i < 64; ++i) t[std::uint8_t(alphabet[i])] = i;
  return t;
}

std::optional<std::string> decode(std::string_view in, const char* alphabet, bool padding_required) {
  static const auto std_table = table(kStd);
  static const auto url_table = table(kUrl);
  const auto& t = alphabet == kStd ? std_table : url_table;

  std::size_t pad = 0;
  while (pad < 2 && pad < in.size() && in[in.size() - 1 - pad] == '=') ++pad;
  std::string_view body = in.substr(0, in.size() - pad);
  if (padding_required) {
    if (in.size() % 4 != 0) return std::nullopt;
  } else if (pad > 0 && in.size() % 4 != 0) {
    return std::nullopt;
  }
  if (body.size() % 4 == 1) return std::nullopt;

  std::string out;
  out.reserve(body.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : body) {
    int v = t[std::uint8_t(c)];
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | std::uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xff);
    }
  }
  // Leftover bits must be zero (canonical encoding).
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

}  // namespace

std::string base64_encode(std::string_view in) { return encode(in, kStd, true); }
std::string base64url_encode(std::string_view in) { return encode(in, kUrl, false); }
std::optional<std::string> base64_decode(std::string_view in) { return decode(in, kStd, true); }
std::optional<std::string> base64url_decode(std::string_view in) { return decode(in, kUrl, false); }

}  // namespace xr
