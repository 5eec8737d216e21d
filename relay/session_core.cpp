#include "relay/session_core.hpp"

#include "relay/session/device_hints.hpp"
#include "relay/session_support.hpp"
#include "relay/tls.hpp"

#include <algorithm>
#include <vector>

namespace xr::relay {

using conf::LogLevel;

SessionCore::SessionCore(tcp::socket socket, std::shared_ptr<const ConfigSnapshot> snap, std::size_t listener_index,
                         Services& svc, ClientOrigin origin)
    : svc_(svc),
      snap_(std::move(snap)),
      cfg_(snap_->config),
      listener_(cfg_.listeners.at(listener_index)),
      listener_tls_(snap_->listener_tls.at(listener_index)),
      id_(new_session_id()),
      client_(std::move(origin.client)),
      client_ip_(origin.ip),
      via_(std::move(origin.via)),
      conn_(std::move(socket), listener_tls_ ? *listener_tls_ : *snap_->plain_tls),
      lifetime_timer_(conn_.socket().get_executor()) {}

void SessionCore::log(LogLevel level, std::string_view event, std::initializer_list<Field> fields) {
  svc_.log.log(level, id_, event, fields);
}

void SessionCore::log(LogLevel level, std::string_view event, const std::vector<Field>& fields) {
  svc_.log.log(level, id_, event, fields);
}

void SessionCore::device_mistake(std::string_view event, std::string_view result, std::vector<Field> fields,
                                 std::string hint) {
  fields.emplace_back("hint", hint);
  log(LogLevel::warn, event, fields);
  // A counter too: a misconfigured fleet of printers shows on a dashboard
  // before anyone reads the log.
  svc_.metrics.add("xoauth2_relay_device_mistakes_total",
                   {{"protocol", conf::to_string(listener_.protocol)}, {"kind", std::string(event)}});
  if (result_ != "ok" || !mistake_result_.empty()) return;  // the first mistake, or what ended it, says why
  result_ = result;
  mistake_result_ = result;
  mistake_hint_ = std::move(hint);
}

std::vector<Field> SessionCore::with_mistake_hint(std::initializer_list<Field> fields) const {
  std::vector<Field> out(fields);
  if (!mistake_result_.empty() && result_ == mistake_result_) out.emplace_back("hint", mistake_hint_);
  return out;
}

void SessionCore::note_login_before_tls(std::size_t refusals, std::initializer_list<Field> extra) {
  if (login_before_tls_logged_ || refusals == 0) return;
  login_before_tls_logged_ = true;
  const char* event = listener_.tls == conf::TlsMode::starttls ? "auth_before_starttls" : "auth_without_tls";
  std::vector<Field> fields{{"client", client_}, {"listener", listener_.name()}};
  fields.insert(fields.end(), extra.begin(), extra.end());
  device_mistake(event, event, std::move(fields), login_needs_tls_hint(cfg_, listener_));
}

bool SessionCore::sniff_first_line(std::string_view bytes, bool tls_active) {
  if (!first_line_) return false;
  first_line_->feed(bytes);
  if (!first_line_->done()) return false;
  const auto sniffed = std::move(first_line_);  // decided: the session holds it no longer
  const auto wrong = sniff::wrong_protocol(spoken_by(listener_.protocol), !tls_active, *sniffed);
  if (wrong == sniff::Spoken::unknown) return false;
  // seen= is the command word (and an IMAP tag) only: never the rest of
  // the line, which may hold a password.
  device_mistake("wrong_protocol", "wrong_protocol",
                 {{"client", client_}, {"listener", listener_.name()}, {"seen", sniffed->seen()},
                  {"speaks", sniff::to_string(wrong)}},
                 wrong_protocol_hint(cfg_, listener_, wrong));
  return wrong == sniff::Spoken::tls;
}

void SessionCore::opened(std::initializer_list<Field> extra) {
  boost::system::error_code ec;
  conn_.socket().set_option(tcp::no_delay(true), ec);
  std::vector<Field> fields{{"client", client_}, {"listener", listener_.name()}};
  if (!via_.empty()) fields.push_back({"via", via_});
  fields.insert(fields.end(), extra.begin(), extra.end());
  svc_.log.log(LogLevel::info, id_, "connect", fields);
}

net::awaitable<bool> SessionCore::accept_tls() {
  if (listener_.tls != conf::TlsMode::implicit) co_return true;
  const bool ok = co_await handshake_device();
  if (!ok) conn_.close_now();
  co_return ok;
}

net::awaitable<bool> SessionCore::handshake_device() {
  // A client that opens a connection and never finishes the handshake
  // holds a slot only for handshake_timeout.
  auto hs = co_await conn_.handshake_server(cfg_.limits.handshake_timeout);
  if (!hs.ok()) {
    result_ = "tls_failed";
    // A connection closed before any handshake is a port probe or health
    // check, not a client in trouble: no warning for it.
    log(hs.status == IoStatus::eof ? LogLevel::info : LogLevel::warn, "tls_failed",
        {{"client", client_}, {"error", hs.describe()}, {"hint", tls_handshake_hint(hs.describe(), listener_)}});
    co_return false;
  }
  log(LogLevel::info, "tls", {{"version", conn_.tls_description()}});
  co_return true;
}

std::chrono::seconds SessionCore::command_wait(bool heard_from_device) const {
  if (heard_from_device) return cfg_.limits.command_timeout;
  return std::min(cfg_.limits.handshake_timeout, cfg_.limits.command_timeout);
}

void SessionCore::limit_lifetime(std::function<void()> end) {
  lifetime_timer_.expires_after(cfg_.limits.max_session_lifetime);
  // The timer is the session's member: the handler runs with
  // operation_aborted once the session is gone, and then touches nothing.
  lifetime_timer_.async_wait([this, end = std::move(end)](const boost::system::error_code& ec) {
    if (ec) return;
    lifetime_over_ = true;
    log(LogLevel::info, "session_lifetime_over",
        {{"client", client_}, {"max_session_lifetime_s", cfg_.limits.max_session_lifetime.count()}});
    end();
  });
}

net::awaitable<void> SessionCore::refuse_blocked_login(conf::Protocol protocol, const std::string& user,
                                                      const auth::ThrottleVerdict& verdict, std::string_view refusal) {
  note_auth_blocked(svc_, id_, protocol, client_, user, verdict);
  login_outcome("auth_blocked");
  const std::string line = std::string(refusal) + "\r\n";
  co_await send_to_device(line);
  auth_blocked_ = true;
}

net::awaitable<bool> SessionCore::send_to_device(std::string_view bytes) {
  auto r = co_await conn_.write_all(bytes, cfg_.limits.command_timeout);
  if (!r.ok()) {
    if (result_ == "ok") result_ = "client_" + std::string(to_string(r.status));
    co_return false;
  }
  co_return true;
}

}  // namespace xr::relay
