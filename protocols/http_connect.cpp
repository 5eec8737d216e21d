#include "protocols/http_connect.hpp"

#include "protocols/base64.hpp"
#include "protocols/secret.hpp"

namespace xr::protocols {
namespace {

constexpr std::string_view kVersionPrefix = "HTTP/1.";

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// RFC 9110 5.6.2 tchar: what a header field name is made of.
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c)) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Characters of a host name, an IPv4 literal or an IPv6 literal (with a
// zone: "fe80::1%eth0"). Brackets only around the whole.
bool is_host_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c)) return true;
  return c == '-' || c == '.' || c == '_' || c == ':' || c == '%';
}

bool valid_host(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty() || host.size() > 255) return false;
  for (char c : host)
    if (!is_host_char(c)) return false;
  return true;
}

// For a log line: printable ASCII as is, anything else as '?', cut at `max`.
std::string sanitise(std::string_view s, std::size_t max) {
  std::string out;
  for (char c : s) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return out;
}

}  // namespace

std::string connect_authority(std::string_view host, std::uint16_t port) {
  std::string out;
  const bool v6 = host.find(':') != std::string_view::npos && !host.starts_with('[');
  if (v6) out += '[';
  out += host;
  if (v6) out += ']';
  out += ':';
  out += std::to_string(port);
  return out;
}

std::optional<std::string> http_connect_request(std::string_view host, std::uint16_t port,
                                                std::string_view credentials) {
  if (!valid_host(host) || port == 0) return std::nullopt;
  const std::string authority = connect_authority(host, port);
  std::string req = "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n";
  if (!credentials.empty()) {
    std::string encoded = base64_encode(credentials);
    req.reserve(req.size() + 32 + encoded.size());  // one buffer: no stray copy of the secret
    req += "Proxy-Authorization: Basic ";
    req += encoded;
    req += "\r\n";
    wipe_secret(encoded);
  }
  req += "\r\n";
  return req;
}

const char* to_string(ConnectReply r) {
  switch (r) {
    case ConnectReply::need_more: return "need_more";
    case ConnectReply::established: return "established";
    case ConnectReply::refused: return "refused";
    case ConnectReply::malformed: return "malformed";
  }
  return "?";
}

std::string ConnectReplyParser::status_text() const {
  if (code_ == 0) return {};
  return reason_.empty() ? std::to_string(code_) : std::to_string(code_) + " " + reason_;
}

void ConnectReplyParser::fail(std::string why) {
  status_ = ConnectReply::malformed;
  error_ = std::move(why);
}

std::size_t ConnectReplyParser::feed(std::string_view bytes) {
  if (status_ != ConnectReply::need_more) return 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const char c = bytes[i];
    line_ += c;
    ++head_bytes_;
    if (head_bytes_ > kMaxConnectReplyHead) {
      fail("the answer's head is longer than " + std::to_string(kMaxConnectReplyHead) + " bytes");
      return i + 1;
    }
    if (line_.size() > kMaxConnectReplyLine) {
      fail("a line of the answer is longer than " + std::to_string(kMaxConnectReplyLine) + " bytes");
      return i + 1;
    }
    // Not HTTP at all (an SMTP greeting, a TLS alert from an https proxy):
    // say so at the first byte that cannot be one, instead of waiting for
    // a line end that may never come.
    if (part_ == Part::status_line && line_.size() <= kVersionPrefix.size() &&
        kVersionPrefix.substr(0, line_.size()) != line_) {
      fail("not an HTTP answer (it starts \"" + sanitise(line_, 16) + "\")");
      return i + 1;
    }
    if (c != '\n') continue;
    // A line ends at LF; a CR before it is part of the line end (RFC 9112
    // 2.2 lets a recipient accept a bare LF, and some proxies send one).
    std::string_view line(line_);
    line.remove_suffix(1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    on_line(line);
    line_.clear();
    if (status_ == ConnectReply::established) rest_.assign(bytes.substr(i + 1));
    if (status_ != ConnectReply::need_more) return i + 1;
  }
  return bytes.size();
}

void ConnectReplyParser::on_line(std::string_view line) {
  // A CR anywhere else is a bare CR: RFC 9112 2.2 says reject or replace;
  // in a proxy's head it means confusion, not a quirk worth guessing about.
  if (line.find('\r') != std::string_view::npos) return fail("a bare CR in the answer's head");
  if (part_ == Part::status_line) on_status_line(line);
  else on_header_line(line);
}

// HTTP/1.x SP 3DIGIT [SP reason-phrase]; an empty reason may also come
// without its space (common enough in small proxies).
void ConnectReplyParser::on_status_line(std::string_view line) {
  const bool shaped = line.size() >= 12 && line.starts_with(kVersionPrefix) && is_digit(line[7]) &&
                      line[8] == ' ' && is_digit(line[9]) && is_digit(line[10]) && is_digit(line[11]) &&
                      (line.size() == 12 || line[12] == ' ');
  if (!shaped) return fail("not an HTTP status line: \"" + sanitise(line, 40) + "\"");
  const int code = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  if (code < 100 || code > 599) return fail("status " + std::to_string(code) + " is not an HTTP status");
  // 101 would switch protocols, which CONNECT never asks for.
  if (code == 101) return fail("101 Switching Protocols is not an answer to CONNECT");
  if (code < 200) {
    // An interim answer (100 Continue, 102, 103): its headers, then the real one.
    interim_ = true;
    part_ = Part::headers;
    return;
  }
  interim_ = false;
  code_ = code;
  std::string_view reason = line.size() > 12 ? line.substr(13) : std::string_view{};
  while (!reason.empty() && (reason.back() == ' ' || reason.back() == '\t')) reason.remove_suffix(1);
  reason_ = sanitise(reason, kMaxConnectReasonShown);
  if (code >= 300) {
    status_ = ConnectReply::refused;
    return;
  }
  part_ = Part::headers;
}

void ConnectReplyParser::on_header_line(std::string_view line) {
  if (line.empty()) {
    // The end of the head. A 2xx answer to CONNECT has no body: any
    // Content-Length or Transfer-Encoding it carries is ignored (RFC 9110
    // 9.3.6), and every byte after the blank line is the tunnel's.
    if (interim_) {
      interim_ = false;
      part_ = Part::status_line;
      return;
    }
    status_ = ConnectReply::established;
    return;
  }
  // Obsolete line folding (RFC 9112 5.2): never sent by a proxy that
  // follows RFC 7230 or later; a client may reject it.
  if (line.front() == ' ' || line.front() == '\t') return fail("a folded header line (obsolete line folding)");
  if (++headers_ > kMaxConnectReplyHeaders)
    return fail("more than " + std::to_string(kMaxConnectReplyHeaders) + " header fields");
  const auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0)
    return fail("a header line without a field name: \"" + sanitise(line.substr(0, 40), 40) + "\"");
  for (char c : line.substr(0, colon))
    if (!is_tchar(c)) return fail("a header field name with '" + sanitise(std::string_view(&c, 1), 1) + "' in it");
  for (char c : line.substr(colon + 1)) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return fail("a control character in a header field value");
  }
}

}  // namespace xr::protocols
