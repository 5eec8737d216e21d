// Names of the config enums as written in YAML, and small Config helpers.
#include "conf/config.hpp"

#include <algorithm>

namespace xr::conf {

const char* to_string(TlsMode m) {
  switch (m) {
    case TlsMode::none: return "none";
    case TlsMode::starttls: return "starttls";
    case TlsMode::implicit: return "implicit";
  }
  return "?";
}

const char* to_string(Protocol p) {
  switch (p) {
    case Protocol::smtp: return "smtp";
    case Protocol::imap: return "imap";
    case Protocol::pop3: return "pop3";
  }
  return "?";
}

const char* to_string(LogLevel l) {
  switch (l) {
    case LogLevel::error: return "error";
    case LogLevel::warn: return "warn";
    case LogLevel::info: return "info";
    case LogLevel::debug: return "debug";
  }
  return "?";
}

const char* to_string(TlsVersion v) {
  switch (v) {
    case TlsVersion::v1_0: return "1.0";
    case TlsVersion::v1_1: return "1.1";
    case TlsVersion::v1_2: return "1.2";
    case TlsVersion::v1_3: return "1.3";
  }
  return "?";
}

const char* to_string(LogFormat f) {
  switch (f) {
    case LogFormat::text: return "text";
    case LogFormat::json: return "json";
  }
  return "?";
}

const char* to_string(Delivery d) {
  switch (d) {
    case Delivery::direct: return "direct";
    case Delivery::spool: return "spool";
  }
  return "?";
}

const char* to_string(Provider p) {
  switch (p) {
    case Provider::microsoft: return "microsoft";
    case Provider::google: return "google";
  }
  return "?";
}

const char* to_string(SmtpVia v) {
  switch (v) {
    case SmtpVia::smtp: return "smtp";
    case SmtpVia::graph: return "graph";
  }
  return "?";
}

std::string Listener::name() const {
  // IPv6 in brackets so the port stays unambiguous: "smtp:[::]:587".
  std::string host = address.find(':') != std::string::npos ? "[" + address + "]" : address;
  return std::string(to_string(protocol)) + ":" + host + ":" + std::to_string(port);
}

bool User::allows(Protocol p) const { return std::find(protocols.begin(), protocols.end(), p) != protocols.end(); }

std::string ConfigError::format() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  out += ": ";
  if (!key.empty()) out += key + ": ";
  return out + message;
}

}  // namespace xr::conf
