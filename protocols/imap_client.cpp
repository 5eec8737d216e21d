#include "protocols/imap_client.hpp"

#include "protocols/secret.hpp"

#include <cctype>
#include <optional>

namespace xr::imap {
namespace {

constexpr std::string_view kCapTag = "xr1";
constexpr std::string_view kAuthTag = "xr2";
constexpr std::string_view kPostCapTag = "xr3";

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// "[CAPABILITY a b c] text" -> "a b c"
std::optional<std::string> capability_code(std::string_view text) {
  if (!istarts_with(text, "[CAPABILITY ")) return std::nullopt;
  auto close = text.find(']');
  if (close == std::string_view::npos) return std::nullopt;
  return std::string(text.substr(12, close - 12));
}

// Splits "word rest" at the first space.
std::pair<std::string_view, std::string_view> word(std::string_view s) {
  auto sp = s.find(' ');
  if (sp == std::string_view::npos) return {s, {}};
  return {s.substr(0, sp), s.substr(sp + 1)};
}

}  // namespace

Client::Client(ClientOptions opts, std::string token) : LoginClient(std::move(opts.mailbox), std::move(token)) {}

bool Client::has_cap(std::string_view cap) const {
  std::string_view rest = caps_;
  while (!rest.empty()) {
    auto [w, more] = word(rest);
    if (iequals(w, cap)) return true;
    rest = more;
  }
  return false;
}

ClientEvent Client::on_line(const std::string& line) {
  auto [first, rest] = word(line);
  if (first == "*") {
    auto [status, text] = word(rest);
    if (state_ == State::greeting) {
      if (iequals(status, "OK")) {
        if (auto caps = capability_code(text)) {
          caps_ = *caps;
          authenticate();
        } else {
          send(std::string(kCapTag) + " CAPABILITY");
          state_ = State::capability;
        }
        return ClientEvent::need_input;
      }
      if (iequals(status, "BYE")) return fail(LoginFailure::greeting_refused, line);
      return fail(LoginFailure::protocol_error, "unexpected greeting: " + line);
    }
    if (iequals(status, "CAPABILITY")) caps_ = std::string(text);
    else if (iequals(status, "BYE")) return fail(LoginFailure::protocol_error, line);
    return ClientEvent::need_input;  // other untagged data before login: ignored
  }
  if (first == "+") {
    if (state_ == State::continuation) {
      std::string response = take_response();
      send(response);
      wipe_secret(response);
      state_ = State::auth_result;
      return ClientEvent::need_input;
    }
    if (state_ == State::auth_result) {  // the error challenge (Google's form)
      note_challenge(rest);
      send("");
      return ClientEvent::need_input;
    }
    return fail(LoginFailure::protocol_error, "unexpected continuation request");
  }
  auto [status, text] = word(rest);
  return on_tagged(first, status, text);
}

void Client::authenticate() {
  if (!has_cap("AUTH=XOAUTH2")) {
    fail(LoginFailure::no_xoauth2, "the server does not offer AUTH=XOAUTH2 (capabilities: " + caps_ + ")");
    return;
  }
  if (has_cap("SASL-IR")) {
    std::string response = take_response();
    std::string line = std::string(kAuthTag) + " AUTHENTICATE XOAUTH2 " + response;
    send(line);
    wipe_secret(response);
    wipe_secret(line);
    state_ = State::auth_result;
  } else {
    send(std::string(kAuthTag) + " AUTHENTICATE XOAUTH2");
    state_ = State::continuation;
  }
}

ClientEvent Client::on_tagged(std::string_view tag, std::string_view status, std::string_view text) {
  const bool ok = iequals(status, "OK");
  const std::string said = std::string(status) + " " + std::string(text);
  if (state_ == State::capability && tag == kCapTag) {
    if (!ok) return fail(LoginFailure::protocol_error, "CAPABILITY failed: " + said);
    authenticate();
    return failure() == LoginFailure::none ? ClientEvent::need_input : ClientEvent::failed;
  }
  if ((state_ == State::auth_result || state_ == State::continuation) && tag == kAuthTag) {
    if (!ok) {
      const bool not_now = iequals(status, "NO") && temporary_refusal(text);
      return fail(not_now ? LoginFailure::temporary : LoginFailure::auth_refused, said);
    }
    if (auto caps = capability_code(text)) {
      caps_ = *caps;
      return logged_in();
    }
    // Exchange's OK carries no capabilities; those before login may differ.
    send(std::string(kPostCapTag) + " CAPABILITY");
    state_ = State::post_capability;
    return ClientEvent::need_input;
  }
  if (state_ == State::post_capability && tag == kPostCapTag) {
    if (!ok) return fail(LoginFailure::protocol_error, "CAPABILITY after login failed: " + said);
    return logged_in();
  }
  return fail(LoginFailure::protocol_error, "unexpected reply: " + std::string(tag) + " " + said);
}

// EXAMINE's untagged data (FLAGS, EXISTS, UIDVALIDITY...) is short; a longer
// line is skipped, not an error.
ExamineProbe::ExamineProbe() : in_(64 * 1024) {}

ExamineProbe::Result ExamineProbe::feed(std::string_view bytes) {
  if (result_ != Result::need_input) return result_;
  in_.feed(bytes);
  std::string line;
  for (;;) {
    auto st = in_.next(line);
    if (st == LineReader::Status::need_more) return result_;
    if (st == LineReader::Status::too_long) continue;
    auto [tag, rest] = word(line);
    if (tag == "*") {
      if (istarts_with(rest, "BYE")) {
        said_ = line;
        return result_ = Result::failed;
      }
      continue;
    }
    if (tag != "xr4") continue;  // nothing else is outstanding
    said_ = std::string(rest);
    auto [status, text] = word(rest);
    return result_ = iequals(status, "OK") ? Result::ok : Result::refused;
  }
}

ExamineProbe::Result ExamineProbe::eof() {
  if (result_ == Result::need_input) {
    said_ = "the connection closed before the EXAMINE reply";
    result_ = Result::failed;
  }
  return result_;
}

bool ExamineProbe::not_connected() const {
  return result_ == Result::refused && istarts_with(said_, "BAD ") &&
         said_.find("not connected") != std::string::npos;
}

}  // namespace xr::imap
