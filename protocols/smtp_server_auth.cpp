// AUTH PLAIN and AUTH LOGIN on the device side (RFC 4954, RFC 4616).
#include "protocols/base64.hpp"
#include "protocols/sasl_plain.hpp"
#include "protocols/smtp_server_impl.hpp"

namespace xr::smtp {
namespace {

constexpr int kMaxAuthFailures = 3;
constexpr std::string_view kAskUser = "334 VXNlcm5hbWU6";      // base64("Username:")
constexpr std::string_view kAskPassword = "334 UGFzc3dvcmQ6";  // base64("Password:")

// An initial response: "=" stands for an empty one (RFC 4954 4).
std::optional<std::string> decode_initial(std::string_view b64) {
  if (b64 == "=") return std::string();
  return base64_decode(b64);
}

}  // namespace

Server::Impl::Handled Server::Impl::on_auth(Server& s, std::string_view args) {
  while (!args.empty() && args.back() == ' ') args.remove_suffix(1);
  const std::size_t sp = args.find(' ');
  std::string_view mech = args.substr(0, sp);
  std::string_view initial = sp == std::string_view::npos ? std::string_view{} : args.substr(sp + 1);
  const bool has_initial = sp != std::string_view::npos;

  if (mech.empty() || (has_initial && (initial.empty() || initial.find(' ') != std::string_view::npos))) {
    fail(s, "501 5.5.4 Syntax: AUTH mechanism [initial-response]");
  } else if (greeting == Greeting::none) {
    fail(s, "503 5.5.1 Send EHLO first");
  } else if (authenticated) {
    fail(s, "503 5.5.1 Already authenticated");
  } else if (mail_open) {
    fail(s, "503 5.5.1 Not permitted during a mail transaction");
  } else if (!tls_active && !opts.allow_plaintext_auth) {
    ++auth_without_tls;
    fail(s, "538 5.7.11 Encryption required for requested authentication mechanism");
  } else if (iequals(mech, "PLAIN")) {
    if (!has_initial) {
      reply(s, "334 ");
      auth_step = AuthStep::plain;
      return std::nullopt;
    }
    auto payload = decode_initial(initial);
    if (!payload) {
      fail(s, "501 5.5.2 Invalid base64 data");
      return std::nullopt;
    }
    return finish_plain(s, *payload);
  } else if (iequals(mech, "LOGIN")) {
    if (!has_initial) {
      reply(s, kAskUser);
      auth_step = AuthStep::login_user;
      return std::nullopt;
    }
    auto user = decode_initial(initial);
    if (!user) {
      fail(s, "501 5.5.2 Invalid base64 data");
      return std::nullopt;
    }
    login_user = std::move(*user);
    reply(s, kAskPassword);
    auth_step = AuthStep::login_password;
  } else {
    fail(s, "504 5.5.4 Unrecognized authentication type");
  }
  return std::nullopt;
}

Server::Impl::Handled Server::Impl::on_auth_response(Server& s, std::string_view line) {
  const AuthStep step = auth_step;
  auth_step = AuthStep::none;
  if (line == "*") {
    wipe_secret(login_user);
    fail(s, "501 5.0.0 Authentication cancelled");
    return std::nullopt;
  }
  auto decoded = base64_decode(line);
  // Whatever path leaves here, the decoded credentials are overwritten (a
  // short password moved out of the string still sits in its inline buffer).
  struct WipeOnExit {
    std::optional<std::string>& v;
    ~WipeOnExit() {
      if (v) wipe_secret(*v);
    }
  } wipe_decoded{decoded};
  if (!decoded) {
    wipe_secret(login_user);
    fail(s, "501 5.5.2 Invalid base64 data");
    return std::nullopt;
  }
  switch (step) {
    case AuthStep::plain:
      return finish_plain(s, *decoded);
    case AuthStep::login_user:
      login_user = std::move(*decoded);
      reply(s, kAskPassword);
      auth_step = AuthStep::login_password;
      return std::nullopt;
    case AuthStep::login_password: {
      std::string user = std::move(login_user);
      login_user.clear();
      return begin_authenticate(s, "LOGIN", std::move(user), std::move(*decoded));
    }
    case AuthStep::none:
      break;
  }
  return std::nullopt;
}

Server::Impl::Handled Server::Impl::finish_plain(Server& s, std::string& payload) {
  auto creds = parse_sasl_plain(payload);
  if (!creds) {
    auth_failed(s, "535 5.7.8 Authentication credentials invalid");
    return std::nullopt;
  }
  return begin_authenticate(s, "PLAIN", std::move(creds->user), std::move(creds->password));
}

Server::Impl::Handled Server::Impl::begin_authenticate(Server& s, std::string_view mech, std::string user,
                                                      std::string password) {
  wipe_secret(s.auth_password_);
  s.auth_user_ = std::move(user);
  s.auth_password_ = std::move(password);
  s.auth_mech_ = std::string(mech);
  pending = Pending::auth;
  return EventKind::authenticate;
}

void Server::Impl::auth_failed(Server& s, std::string_view line) {
  reply(s, line);
  if (++auth_failures >= kMaxAuthFailures) {
    reply(s, "421 4.7.0 Too many authentication failures");
    closed = true;
  }
}

void Server::Impl::complete_auth(Server& s, AuthOutcome outcome, std::string_view temporary_text) {
  if (pending != Pending::auth) return;
  pending = Pending::none;
  wipe_secret(s.auth_password_);
  switch (outcome) {
    case AuthOutcome::ok:
      authenticated = true;
      reply(s, "235 2.7.0 Authentication successful");
      return;
    case AuthOutcome::bad_credentials:
      auth_failed(s, "535 5.7.8 Authentication credentials invalid");
      return;
    case AuthOutcome::upstream_refused:
      auth_failed(s, "535 5.7.3 Authentication unsuccessful");
      return;
    case AuthOutcome::temporary:
      auth_failed(s, temporary_text.empty() ? std::string("454 4.7.0 Temporary authentication failure, try again later")
                                            : "454 " + std::string(temporary_text));
      return;
  }
  auth_failed(s, "454 4.7.0 Temporary authentication failure, try again later");
}

}  // namespace xr::smtp
