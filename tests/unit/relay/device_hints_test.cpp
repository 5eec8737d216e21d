// The hints for device-side mistakes name the port the device should use.
#include "relay/session/device_hints.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace xr;
using xr::sniff::Spoken;

namespace {

conf::Listener listener(conf::Protocol p, std::uint16_t port, conf::TlsMode tls) {
  conf::Listener l;
  l.protocol = p;
  l.address = "0.0.0.0";
  l.listen = "0.0.0.0:" + std::to_string(port);
  l.port = port;
  l.tls = tls;
  return l;
}

bool has(const std::string& hint, std::string_view part) {
  CAPTURE(hint);
  return hint.find(part) != std::string::npos;
}

conf::Config full() {
  conf::Config c;
  c.listeners = {listener(conf::Protocol::smtp, 587, conf::TlsMode::starttls),
                 listener(conf::Protocol::smtp, 465, conf::TlsMode::implicit),
                 listener(conf::Protocol::smtp, 2525, conf::TlsMode::none),
                 listener(conf::Protocol::imap, 993, conf::TlsMode::implicit),
                 listener(conf::Protocol::pop3, 995, conf::TlsMode::implicit)};
  return c;
}

}  // namespace

TEST_CASE("wrong protocol: the hint names the right protocol's ports, TLS ones first") {
  const auto c = full();
  auto h = relay::wrong_protocol_hint(c, c.listeners[3], Spoken::smtp);
  CHECK(has(h, "port 993 is the relay's IMAP listener but the device speaks SMTP"));
  CHECK(has(h, "point the device at port 587 (tls: starttls) or port 465 (tls: implicit) or port 2525 (tls: none)"));
  h = relay::wrong_protocol_hint(c, c.listeners[0], Spoken::imap);
  CHECK(has(h, "port 993 (tls: implicit)"));
  h = relay::wrong_protocol_hint(c, c.listeners[0], Spoken::pop3);
  CHECK(has(h, "port 995 (tls: implicit)"));
  conf::Config smtp_only;
  smtp_only.listeners = {listener(conf::Protocol::smtp, 587, conf::TlsMode::starttls)};
  h = relay::wrong_protocol_hint(smtp_only, smtp_only.listeners[0], Spoken::imap);
  CHECK(has(h, "the relay has no imap listener; add one (protocol: imap)"));
}

TEST_CASE("wrong protocol: a TLS ClientHello on a plaintext port points at implicit TLS or STARTTLS") {
  const auto c = full();
  auto h = relay::wrong_protocol_hint(c, c.listeners[0], Spoken::tls);
  CHECK(has(h, "port 587 expects STARTTLS: set the device's encryption to STARTTLS, or point it at port 465 (tls: implicit)"));
  h = relay::wrong_protocol_hint(c, c.listeners[2], Spoken::tls);
  CHECK(has(h, "port 2525 has no TLS"));
  CHECK(has(h, "port 465 (tls: implicit)"));
  conf::Config one;
  one.listeners = {listener(conf::Protocol::smtp, 587, conf::TlsMode::starttls)};
  CHECK(has(relay::wrong_protocol_hint(one, one.listeners[0], Spoken::tls), "add a smtp listener with tls: implicit"));
}

TEST_CASE("login before TLS: STARTTLS on this port, SSL/TLS on another, or allow_plaintext_auth") {
  const auto c = full();
  auto h = relay::login_needs_tls_hint(c, c.listeners[0]);
  CHECK(has(h, "configure the device to use STARTTLS (TLS) on port 587, or SSL/TLS on port 465 (tls: implicit), "
               "or set allow_plaintext_auth: true on listener smtp:0.0.0.0:587 (trusted networks only)"));
  h = relay::login_needs_tls_hint(c, c.listeners[2]);
  CHECK(has(h, "port 2525 has no TLS: point the device at port 587 (tls: starttls) or port 465 (tls: implicit)"));
  CHECK(has(h, "allow_plaintext_auth: true on listener smtp:0.0.0.0:2525"));
  conf::Config plain;
  plain.listeners = {listener(conf::Protocol::smtp, 25, conf::TlsMode::none)};
  CHECK(has(relay::login_needs_tls_hint(plain, plain.listeners[0]), "give the listener tls: starttls"));
  CHECK(relay::spoken_by(conf::Protocol::pop3) == Spoken::pop3);
}
