#include "protocols/login_machine.hpp"

#include "protocols/secret.hpp"

#include <utility>

namespace xr {
namespace {

// Enough for a person who mistypes; a scanner of commands or passwords is cut off.
constexpr int kMaxBadCommands = 10;
constexpr int kMaxLoginFailures = 3;

}  // namespace

LoginMachine::LoginMachine(const LoginServerOptions& opts)
    : in_(opts.max_line_length),
      tls_(opts.tls_active),
      starttls_offered_(opts.starttls_offered),
      allow_plaintext_auth_(opts.allow_plaintext_auth) {}

LoginMachine::~LoginMachine() { wipe_secret(password_); }

void LoginMachine::feed(std::string_view bytes) {
  if (phase_ == Phase::closed) return;
  if (phase_ == Phase::logged_in) leftover_.append(bytes);
  else in_.feed(bytes);
}

std::string LoginMachine::take_output() { return std::exchange(out_, {}); }

std::string LoginMachine::take_leftover() {
  std::string rest = in_.take_rest();
  rest += leftover_;
  leftover_.clear();
  return rest;
}

void LoginMachine::tls_started() {
  if (phase_ != Phase::waiting_tls) return;
  tls_ = true;
  phase_ = Phase::commands;
}

void LoginMachine::reply(std::string_view line) {
  out_.append(line);
  out_ += "\r\n";
}

LoginEvent LoginMachine::close_with(std::string_view line) {
  reply(line);
  phase_ = Phase::closed;
  return LoginEvent::close;
}

LoginEvent LoginMachine::settled() const {
  switch (phase_) {
    case Phase::closed: return LoginEvent::close;
    case Phase::logged_in: return LoginEvent::logged_in;
    default: return LoginEvent::need_input;  // waiting phases: a completion is owed
  }
}

LoginEvent LoginMachine::input_ended() {
  if (!eof_) return LoginEvent::need_input;
  phase_ = Phase::closed;
  return LoginEvent::close;
}

LoginEvent LoginMachine::begin_tls() {
  in_.clear();  // anything pipelined after the TLS command came in the clear: drop it
  phase_ = Phase::waiting_tls;
  return LoginEvent::start_tls;
}

LoginEvent LoginMachine::begin_auth(std::string user, std::string password, const char* mechanism) {
  user_ = std::move(user);
  wipe_secret(password_);
  password_ = std::move(password);
  mechanism_ = mechanism;
  phase_ = Phase::waiting_auth;
  return LoginEvent::authenticate;
}

bool LoginMachine::end_auth() {
  if (phase_ != Phase::waiting_auth) return false;
  wipe_secret(password_);
  phase_ = Phase::commands;
  return true;
}

LoginEvent LoginMachine::login_refused(std::string_view line, std::string_view bye) {
  reply(line);
  if (++auth_failures_ >= kMaxLoginFailures) return close_with(bye);
  return LoginEvent::need_input;
}

LoginEvent LoginMachine::invalid(std::string_view line, std::string_view bye) {
  reply(line);
  if (++bad_commands_ >= kMaxBadCommands) return close_with(bye);
  return LoginEvent::need_input;
}

}  // namespace xr
