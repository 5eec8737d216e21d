// The fix for a device-side mistake, in words an admin can act on, naming
// the listener (port) the device should use: the config knows them all.
// Pure functions of the config (no Asio), used by the session shells when
// they log event=wrong_protocol, auth_before_starttls and auth_not_offered.
#pragma once

#include "conf/config.hpp"
#include "protocols/protocol_sniff.hpp"

#include <string>

namespace xr::relay {

// The protocol a listener serves, as the sniffer names it.
sniff::Spoken spoken_by(conf::Protocol p);

// A client on `here` speaks `heard` (smtp, imap, pop3, or tls: a TLS
// ClientHello where plaintext was expected).
std::string wrong_protocol_hint(const conf::Config& cfg, const conf::Listener& here, sniff::Spoken heard);

// The device tried to log in (or left because it could not) before TLS on
// `here`, which does not allow plaintext logins.
std::string login_needs_tls_hint(const conf::Config& cfg, const conf::Listener& here);

}  // namespace xr::relay
