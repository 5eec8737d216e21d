#include "graph/graph_url.hpp"

#include <cctype>

namespace xr::graph {
namespace {

std::string users_prefix(std::string_view endpoint, std::string_view mailbox) {
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.remove_suffix(1);
  return std::string(endpoint) + "/v1.0/users/" + escape_segment(mailbox);
}

}  // namespace

std::string escape_segment(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  // "." and ".." are dot segments that URL normalisation would remove.
  const bool dots_only = s == "." || s == "..";
  for (char c : s) {
    if (dots_only) {
      out += "%2E";
      continue;
    }
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~' || c == '@') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

std::string send_mail_url(std::string_view endpoint, std::string_view mailbox) {
  return users_prefix(endpoint, mailbox) + "/sendMail";
}

std::string user_url(std::string_view endpoint, std::string_view mailbox) { return users_prefix(endpoint, mailbox); }

}  // namespace xr::graph
