#include "protocols/login_client.hpp"

#include "protocols/secret.hpp"
#include "protocols/xoauth2.hpp"

#include <cctype>
#include <utility>

namespace xr {
namespace {

// Server lines before the login are short; 64 KiB leaves room for long
// capability lists and still bounds memory.
constexpr std::size_t kMaxServerLine = 64 * 1024;

bool iequal_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

}  // namespace

bool temporary_refusal(std::string_view text) {
  for (std::string_view code : {"[UNAVAILABLE", "[LIMIT", "[INUSE", "[SERVERBUG", "[IN-USE", "[SYS/TEMP",
                                "[LOGIN-DELAY"})
    if (iequal_prefix(text, code) && text.size() > code.size() && (text[code.size()] == ']' || text[code.size()] == ' '))
      return true;
  for (std::size_t i = 0; i < text.size(); ++i)
    if (iequal_prefix(text.substr(i), "REQUEST IS THROTTLED")) return true;
  return false;
}

const char* to_string(LoginFailure f) {
  switch (f) {
    case LoginFailure::none: return "none";
    case LoginFailure::greeting_refused: return "greeting_refused";
    case LoginFailure::no_xoauth2: return "no_xoauth2";
    case LoginFailure::auth_refused: return "auth_refused";
    case LoginFailure::temporary: return "temporary";
    case LoginFailure::protocol_error: return "protocol_error";
  }
  return "unknown";
}

LoginClient::LoginClient(std::string mailbox, std::string token)
    : in_(kMaxServerLine), mailbox_(std::move(mailbox)), token_(std::move(token)) {}

LoginClient::~LoginClient() {
  wipe_secret(token_);
  wipe_secret(out_);
}

std::string LoginClient::take_output() { return std::exchange(out_, {}); }

void LoginClient::send(std::string_view line) {
  out_.append(line);
  out_ += "\r\n";
}

std::string LoginClient::take_response() {
  std::string r = xoauth2_initial_response(mailbox_, token_);
  wipe_and_release(token_);
  return r;
}

ClientEvent LoginClient::fail(LoginFailure why, std::string_view text) {
  failure_ = why;
  failure_text_ = std::string(text);
  if (!challenge_.empty()) failure_text_ += " (challenge: " + challenge_ + ")";
  wipe_secret(token_);
  done_ = true;
  last_ = ClientEvent::failed;
  return last_;
}

ClientEvent LoginClient::next() {
  while (!done_) {
    std::string line;
    switch (in_.next(line)) {
      case LineReader::Status::line: break;
      case LineReader::Status::too_long: return fail(LoginFailure::protocol_error, "server line too long");
      case LineReader::Status::need_more:
        if (!eof_) return ClientEvent::need_input;
        return fail(LoginFailure::protocol_error, "connection closed by the server");
    }
    if (auto ev = on_line(line); ev != ClientEvent::need_input) return ev;
  }
  return last_;
}

ClientEvent LoginClient::logged_in() {
  done_ = true;
  return last_ = ClientEvent::logged_in;
}

void LoginClient::note_challenge(std::string_view base64) {
  challenge_ = decode_error_challenge(base64);
}

}  // namespace xr
