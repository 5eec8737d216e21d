#include "protocols/proxy_header.hpp"

#include <arpa/inet.h>  // inet_pton/inet_ntop: text <-> bytes only, no sockets

#include <algorithm>
#include <array>
#include <charconv>
#include <vector>

namespace xr::proxy {
namespace {

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr std::string_view kV2Signature{"\r\n\r\n\0\r\nQUIT\n", 12};
constexpr std::size_t kV2Fixed = 16;

// True while what we have so far could still be `whole`'s beginning.
bool prefix_matches(std::string_view have, std::string_view whole) {
  const auto n = std::min(have.size(), whole.size());
  return have.substr(0, n) == whole.substr(0, n);
}

std::vector<std::string_view> split_spaces(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    const auto sp = s.find(' ', start);
    out.push_back(s.substr(start, sp == std::string_view::npos ? std::string_view::npos : sp - start));
    if (sp == std::string_view::npos) return out;
    start = sp + 1;
  }
}

// Decimal 0..65535, digits only (the spec's "port" field).
bool parse_port(std::string_view s, std::uint16_t& port) {
  if (s.empty() || s.size() > 5) return false;
  if (!std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  unsigned v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  if (v > 65535) return false;
  port = static_cast<std::uint16_t>(v);
  return true;
}

// The address in canonical text, or empty when `s` is not one of `family`.
std::string canonical(int family, std::string_view s) {
  if (s.size() > 45) return {};
  const std::string z(s);
  std::array<unsigned char, 16> bin{};
  if (inet_pton(family, z.c_str(), bin.data()) != 1) return {};
  std::array<char, 64> text{};
  if (!inet_ntop(family, bin.data(), text.data(), text.size())) return {};
  return text.data();
}

std::string from_binary(int family, const unsigned char* p) {
  std::array<char, 64> text{};
  if (!inet_ntop(family, p, text.data(), text.size())) return {};
  return text.data();
}

}  // namespace

Status HeaderParser::fail(std::string why) {
  status_ = Status::error;
  error_ = std::move(why);
  buf_.clear();
  return status_;
}

Status HeaderParser::feed(std::string_view bytes) {
  if (status_ != Status::need_more) return status_;
  buf_.append(bytes);
  return step();
}

Status HeaderParser::step() {
  if (buf_.empty()) return Status::need_more;
  if (buf_[0] == 'P') return step_v1();
  if (buf_[0] == '\r') return step_v2();
  return fail("not a PROXY protocol header");
}

Status HeaderParser::step_v1() {
  if (!prefix_matches(buf_, kV1Prefix)) return fail("not a PROXY protocol header");
  const auto lf = buf_.find('\n');
  if (lf == std::string::npos) {
    if (buf_.size() >= kMaxV1Length) return fail("PROXY v1 line longer than 107 bytes");
    return Status::need_more;
  }
  if (lf + 1 > kMaxV1Length) return fail("PROXY v1 line longer than 107 bytes");
  if (lf == 0 || buf_[lf - 1] != '\r') return fail("PROXY v1 line not ended by CRLF");
  const std::string line = buf_.substr(0, lf - 1);
  rest_ = buf_.substr(lf + 1);
  buf_.clear();
  return parse_v1_line(line);
}

Status HeaderParser::parse_v1_line(std::string_view line) {
  source_ = Source{};
  source_.version = 1;
  auto f = split_spaces(line.substr(kV1Prefix.size()));
  // "UNKNOWN" may be followed by anything up to the CRLF (spec, 2.1).
  if (!f.empty() && f[0] == "UNKNOWN") {
    status_ = Status::done;
    return status_;
  }
  if (f.size() != 5) return fail("PROXY v1 line malformed");
  int family = 0;
  if (f[0] == "TCP4") family = AF_INET;
  else if (f[0] == "TCP6") family = AF_INET6;
  else return fail("PROXY v1 protocol neither TCP4, TCP6 nor UNKNOWN");
  std::string src = canonical(family, f[1]);
  std::string dst = canonical(family, f[2]);
  std::uint16_t sport = 0, dport = 0;
  if (src.empty() || dst.empty()) return fail("PROXY v1 address invalid for its family");
  if (!parse_port(f[3], sport) || !parse_port(f[4], dport)) return fail("PROXY v1 port invalid");
  source_.local = false;
  source_.address = std::move(src);
  source_.port = sport;
  source_.v6 = family == AF_INET6;
  status_ = Status::done;
  return status_;
}

Status HeaderParser::step_v2() {
  if (!prefix_matches(buf_, kV2Signature)) return fail("not a PROXY protocol header");
  if (buf_.size() < kV2Fixed) return Status::need_more;
  const auto* p = reinterpret_cast<const unsigned char*>(buf_.data());
  const unsigned version = p[12] >> 4, command = p[12] & 0x0f;
  const unsigned family = p[13];
  const std::size_t length = (std::size_t(p[14]) << 8) | p[15];
  if (version != 2) return fail("PROXY v2 header with version " + std::to_string(version));
  if (command > 1) return fail("PROXY v2 command neither LOCAL nor PROXY");
  if (length > kMaxV2Payload) return fail("PROXY v2 header longer than " + std::to_string(kMaxV2Payload) + " bytes");
  if (buf_.size() < kV2Fixed + length) return Status::need_more;

  source_ = Source{};
  source_.version = 2;
  const unsigned char* addr = p + kV2Fixed;
  // LOCAL: the proxy's own connection (health check); addresses, if any, are
  // ignored. PROXY with AF_UNSPEC: origin unknown, the spec says to use the
  // real connection's. TLVs after the addresses are skipped.
  if (command == 1 && family != 0x00) {
    if (family == 0x11) {  // TCP over IPv4: src(4) dst(4) sport(2) dport(2)
      if (length < 12) return fail("PROXY v2 TCP4 address block too short");
      source_.address = from_binary(AF_INET, addr);
      source_.port = static_cast<std::uint16_t>((addr[8] << 8) | addr[9]);
    } else if (family == 0x21) {  // TCP over IPv6: src(16) dst(16) sport(2) dport(2)
      if (length < 36) return fail("PROXY v2 TCP6 address block too short");
      source_.address = from_binary(AF_INET6, addr);
      source_.port = static_cast<std::uint16_t>((addr[32] << 8) | addr[33]);
      source_.v6 = true;
    } else {
      return fail("PROXY v2 address family not TCP over IPv4/IPv6");
    }
    if (source_.address.empty()) return fail("PROXY v2 address unreadable");
    source_.local = false;
  }
  rest_ = buf_.substr(kV2Fixed + length);
  buf_.clear();
  status_ = Status::done;
  return status_;
}

}  // namespace xr::proxy
