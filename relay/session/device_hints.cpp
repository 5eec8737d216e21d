#include "relay/session/device_hints.hpp"

#include <string_view>
#include <vector>

namespace xr::relay {
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = char(c - 32);
  return out;
}

// "port 587 (tls: starttls)"
std::string port_of(const conf::Listener& l) {
  return "port " + std::to_string(l.port) + " (tls: " + conf::to_string(l.tls) + ")";
}

// Listeners of `protocol` other than `here`, the ones in `modes` only,
// written "port 587 (tls: starttls) or port 465 (tls: implicit)"; "" when
// there are none.
std::string ports(const conf::Config& cfg, const conf::Listener* here, conf::Protocol protocol,
                  std::initializer_list<conf::TlsMode> modes) {
  std::vector<std::string> found;
  for (const conf::TlsMode mode : modes)
    for (const auto& l : cfg.listeners)
      if (&l != here && l.protocol == protocol && l.tls == mode) found.push_back(port_of(l));
  std::string out;
  for (std::size_t i = 0; i < found.size(); ++i) out += (i ? " or " : "") + found[i];
  return out;
}

}  // namespace

sniff::Spoken spoken_by(conf::Protocol p) {
  switch (p) {
    case conf::Protocol::smtp: return sniff::Spoken::smtp;
    case conf::Protocol::imap: return sniff::Spoken::imap;
    case conf::Protocol::pop3: return sniff::Spoken::pop3;
  }
  return sniff::Spoken::unknown;
}

std::string wrong_protocol_hint(const conf::Config& cfg, const conf::Listener& here, sniff::Spoken heard) {
  using conf::TlsMode;
  const std::string this_port = "port " + std::to_string(here.port);
  if (heard == sniff::Spoken::tls) {
    std::string hint = "the device starts TLS at once (SSL/TLS, implicit TLS) but " + this_port;
    hint += here.tls == TlsMode::starttls ? " expects STARTTLS: set the device's encryption to STARTTLS"
                                          : " has no TLS: turn SSL/TLS off on the device (trusted networks only)";
    const std::string implicit = ports(cfg, &here, here.protocol, {TlsMode::implicit});
    if (!implicit.empty()) return hint + ", or point it at " + implicit;
    return hint + ", or add a " + conf::to_string(here.protocol) + " listener with tls: implicit";
  }
  conf::Protocol wanted = conf::Protocol::smtp;
  if (heard == sniff::Spoken::imap) wanted = conf::Protocol::imap;
  if (heard == sniff::Spoken::pop3) wanted = conf::Protocol::pop3;
  std::string hint = this_port + " is the relay's " + upper(conf::to_string(here.protocol)) +
                     " listener but the device speaks " + upper(sniff::to_string(heard));
  // Devices should use TLS where they can: those listeners first.
  const std::string right =
      ports(cfg, nullptr, wanted, {TlsMode::starttls, TlsMode::implicit, TlsMode::none});
  if (!right.empty()) return hint + ": point the device at " + right;
  return hint + ": the relay has no " + conf::to_string(wanted) + " listener; add one (protocol: " +
         conf::to_string(wanted) + ") or point the device at another server";
}

std::string login_needs_tls_hint(const conf::Config& cfg, const conf::Listener& here) {
  using conf::TlsMode;
  const std::string allow = "or set allow_plaintext_auth: true on listener " + here.name() + " (trusted networks only)";
  if (here.tls == TlsMode::starttls) {
    std::string hint = "configure the device to use STARTTLS (TLS) on port " + std::to_string(here.port);
    const std::string implicit = ports(cfg, &here, here.protocol, {TlsMode::implicit});
    if (!implicit.empty()) hint += ", or SSL/TLS on " + implicit;
    return hint + ", " + allow;
  }
  // A listener without TLS (an implicit-TLS one never gets here).
  const std::string tls_ports = ports(cfg, &here, here.protocol, {TlsMode::starttls, TlsMode::implicit});
  std::string hint = "port " + std::to_string(here.port) + " has no TLS: ";
  if (!tls_ports.empty()) hint += "point the device at " + tls_ports + " with encryption on, ";
  else hint += "give the listener tls: starttls (and the device STARTTLS), ";
  return hint + allow;
}

}  // namespace xr::relay
