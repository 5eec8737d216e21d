#include "protocols/pop3_client.hpp"

#include "protocols/secret.hpp"

#include <cctype>

namespace xr::pop3 {
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool is_ok(std::string_view line) { return line == "+OK" || line.starts_with("+OK "); }
bool is_err(std::string_view line) { return line == "-ERR" || line.starts_with("-ERR "); }

}  // namespace

Client::Client(ClientOptions opts, std::string token) : LoginClient(std::move(opts.mailbox), std::move(token)) {}

ClientEvent Client::start_auth() {
  if (sasl_listed_ && !xoauth2_listed_)
    return fail(LoginFailure::no_xoauth2, "the server does not offer SASL XOAUTH2 (CAPA: " + caps_ + ")");
  send("AUTH XOAUTH2");
  state_ = State::auth_start;
  return ClientEvent::need_input;
}

ClientEvent Client::on_line(const std::string& line) {
  switch (state_) {
    case State::greeting:
      if (is_ok(line)) {
        send("CAPA");
        state_ = State::capa_status;
        return ClientEvent::need_input;
      }
      return fail(is_err(line) ? LoginFailure::greeting_refused : LoginFailure::protocol_error, line);
    case State::capa_status:
      if (is_ok(line)) {
        state_ = State::capa_lines;
        return ClientEvent::need_input;
      }
      // No CAPA (RFC 1939-only server): try XOAUTH2 anyway.
      if (is_err(line)) return start_auth();
      return fail(LoginFailure::protocol_error, "unexpected CAPA reply: " + line);
    case State::capa_lines: {
      if (line == ".") return start_auth();
      std::string_view l = line;
      if (l.starts_with("..")) l.remove_prefix(1);  // dot-stuffed multi-line response
      if (!caps_.empty()) caps_ += ' ';
      caps_ += l;
      std::string u = upper(l);
      if (u == "SASL" || u.starts_with("SASL ")) {
        sasl_listed_ = true;
        std::string_view mechs = std::string_view(u).substr(4);
        while (!mechs.empty()) {
          while (!mechs.empty() && mechs.front() == ' ') mechs.remove_prefix(1);
          auto sp = mechs.find(' ');
          if (mechs.substr(0, sp) == "XOAUTH2") xoauth2_listed_ = true;
          mechs = sp == std::string_view::npos ? std::string_view() : mechs.substr(sp);
        }
      }
      return ClientEvent::need_input;
    }
    case State::auth_start:
      if (line == "+" || line.starts_with("+ ")) {
        std::string response = take_response();
        send(response);
        wipe_secret(response);
        state_ = State::auth_result;
        return ClientEvent::need_input;
      }
      return fail(LoginFailure::auth_refused, line);
    case State::auth_result:
      if (is_ok(line)) {
        return logged_in();
      }
      if (line == "+" || line.starts_with("+ ")) {  // the error challenge
        note_challenge(line.size() > 2 ? std::string_view(line).substr(2) : std::string_view());
        send("");
        return ClientEvent::need_input;
      }
      if (!is_err(line)) return fail(LoginFailure::protocol_error, line);
      {
        const std::string_view text = line.size() > 5 ? std::string_view(line).substr(5) : std::string_view();
        return fail(temporary_refusal(text) ? LoginFailure::temporary : LoginFailure::auth_refused, line);
      }
  }
  return fail(LoginFailure::protocol_error, line);
}

}  // namespace xr::pop3
