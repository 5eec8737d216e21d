// What every device session holds, whatever its protocol: the config
// snapshot it started with, its listener, its id for the log, the device's
// address and connection; and the start every session shares (TCP_NODELAY,
// the connect line, the implicit-TLS handshake).
#pragma once

#include "conf/config.hpp"
#include "relay/connection.hpp"
#include "relay/runtime.hpp"
#include "relay/session/client_origin.hpp"
#include "relay/session/access_watch.hpp"
#include "auth/auth_throttle.hpp"
#include "protocols/protocol_sniff.hpp"

#include <chrono>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace xr::relay {

class SessionCore {
 public:
  // `origin`: the client as admitted (the socket's peer, or the address a
  // PROXY header carried).
  SessionCore(tcp::socket socket, std::shared_ptr<const ConfigSnapshot> snap, std::size_t listener_index,
              Services& svc, ClientOrigin origin);

  Connection& connection() { return conn_; }

  // limits.max_session_lifetime: when it is over, `end` is called on the
  // session's executor; it takes the same path as a shutdown's `cut` (SMTP
  // ends after the message in progress, a spliced session hears BYE/-ERR).
  // Call once, after the session is listed in the registry.
  void limit_lifetime(std::function<void()> end);
  bool lifetime_over() const { return lifetime_over_; }

 protected:
  void log(conf::LogLevel level, std::string_view event, std::initializer_list<Field> fields);
  void log(conf::LogLevel level, std::string_view event, const std::vector<Field>& fields);
  // A device-side mistake (wrong port, AUTH before STARTTLS, ...), which
  // the device itself reports at best as "login failed": logged at warn as
  // `event` with the fix in hint=, and session_end says `result` and the
  // hint too, unless something later (a successful login) changed result_.
  void device_mistake(std::string_view event, std::string_view result, std::vector<Field> fields, std::string hint);
  // session_end's fields, with the mistake's hint= while its result stands.
  std::vector<Field> with_mistake_hint(std::initializer_list<Field> fields) const;
  // Every chunk the device sends before its login (cheap: only its first
  // line is looked at): a client of another protocol, or TLS where
  // plaintext is expected (`tls_active` false), is a wrong_protocol mistake.
  // True for TLS: such a client cannot read any reply, the session ends.
  bool sniff_first_line(std::string_view bytes, bool tls_active);
  // A login the machine refused because TLS was not active yet (`refusals`
  // so far): auth_before_starttls / auth_without_tls with the hint, once
  // per session. Both shells call it; `extra` adds their own fields.
  void note_login_before_tls(std::size_t refusals, std::initializer_list<Field> extra = {});
  // Sets TCP_NODELAY and logs the connect line, with `extra` fields.
  void opened(std::initializer_list<Field> extra = {});
  // On an implicit-TLS listener, the handshake. False when the session must
  // end: the failure is logged, the connection closed and result_ set.
  net::awaitable<bool> accept_tls();
  // The device-side handshake (implicit TLS or after STARTTLS/STLS). False
  // when it failed: logged with a hint, result_ set.
  net::awaitable<bool> handshake_device();
  // The throttle refused a login before any password check: logged
  // (event=auth_blocked), counted, `refusal` said; auth_blocked_ then ends
  // the session.
  net::awaitable<void> refuse_blocked_login(conf::Protocol protocol, const std::string& user,
                                            const auth::ThrottleVerdict& verdict, std::string_view refusal);
  // Writes replies to the device. False when the device is gone; result_
  // then says how (unless something else ended the session first).
  net::awaitable<bool> send_to_device(std::string_view bytes);
  // How long to wait for the device's next command: limits.handshake_timeout
  // until it has said anything (a silent connection holds a slot only that
  // long), limits.command_timeout after.
  std::chrono::seconds command_wait(bool heard_from_device) const;

  Services& svc_;
  std::shared_ptr<const ConfigSnapshot> snap_;
  const conf::Config& cfg_;
  const conf::Listener& listener_;
  std::shared_ptr<ssl::context> listener_tls_;
  std::string id_;
  std::string client_;  // "address:port" for the log
  conf::IpAddress client_ip_;
  std::string via_;  // the load balancer's "address:port" (PROXY protocol), else empty
  Connection conn_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  bool auth_blocked_ = false;  // the throttle refused a login: the session ends
  std::string result_ = "ok";  // for session_end
  // Reloads: the config logins use now, the one the grant came from, and
  // whether a reload revoked the grant.
  AccessWatch access_{snap_};
  // The latest login that passed our own check, for session_end even when
  // Office 365 then refused it (the grant is dropped; the client may retry).
  struct Tried {
    std::string user = "-", mailbox = "-", tenant = "-";
  } tried_;
  // A login's outcome for session_end: "ok" after a successful one (a
  // client may fail, then succeed in one session), else why it failed.
  void login_outcome(std::string_view result) { result_ = result; }

 private:
  // Until the first line is decided (sniff_first_line), then freed.
  std::unique_ptr<sniff::FirstLine> first_line_ = std::make_unique<sniff::FirstLine>();
  std::string mistake_result_;  // the result a device_mistake set
  std::string mistake_hint_;
  bool login_before_tls_logged_ = false;
  net::steady_timer lifetime_timer_;
  bool lifetime_over_ = false;
};

}  // namespace xr::relay
