// Typed, validated configuration. Everything the rest of the relay knows about
// the admin's YAML comes through these structs; nothing else parses YAML.
#pragma once

#include "conf/cidr.hpp"
#include "conf/egress_proxy.hpp"
#include "conf/secret.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace xr::conf {

enum class TlsMode { none, starttls, implicit };
enum class Protocol { smtp, imap, pop3 };
enum class LogLevel { error, warn, info, debug };
enum class LogFormat { text, json };
enum class TlsVersion { v1_0, v1_1, v1_2, v1_3 };

const char* to_string(TlsMode);
const char* to_string(Protocol);
const char* to_string(LogLevel);
const char* to_string(LogFormat);
const char* to_string(TlsVersion);  // "1.0" ... "1.3"

// An upstream Office 365 endpoint (always TLS: starttls or implicit).
struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
  TlsMode tls = TlsMode::starttls;
  // Exchange limits concurrent connections per mailbox and protocol; sessions
  // beyond this wait (limits.mailbox_wait_timeout) instead of being refused.
  std::size_t max_connections_per_mailbox = 3;
  // SMTP only (`tenants.X.smtp.max_messages_per_minute`): the spool's delivery
  // engine starts at most this many submissions per mailbox in any minute
  // (Exchange Online's limit is 30). Direct sessions are not paced: the device
  // hears Exchange's own answer.
  std::size_t max_messages_per_minute = 30;
};

// How a user's or no_auth rule's messages reach Office 365.
enum class Delivery {
  direct,  // pass-through: the device hears Office 365's own final reply (default)
  spool,   // store and forward: 250 once the message is durably on disk
};
const char* to_string(Delivery);

// `tenants.X.provider`: whose identity platform issues the tokens.
enum class Provider { microsoft, google };
const char* to_string(Provider);

// `tenants.X.smtp.via`: how a Microsoft tenant's SMTP messages leave.
enum class SmtpVia {
  smtp,   // SMTP AUTH XOAUTH2 to tenant.smtp (default)
  graph,  // Microsoft Graph sendMail (for tenants that switch SMTP AUTH off)
};
const char* to_string(SmtpVia);

// `tenants.X.graph`: Microsoft Graph, for `smtp: {via: graph}`.
struct GraphSettings {
  std::string endpoint = "https://graph.microsoft.com";      // national clouds and tests change it
  std::string scope = "https://graph.microsoft.com/.default";  // the token scope for Graph calls
  std::size_t max_concurrent_per_mailbox = 4;                // Graph's own limit per app and mailbox
  // Messages above Graph's request limit (~3 MB of MIME): refused at SIZE or
  // DATA with 552 5.3.4 (default), or sent through an upload session, which
  // needs Mail.ReadWrite.
  enum class LargeMessages { refuse, upload };
  LargeMessages large_messages = LargeMessages::refuse;
};

// A Google service account's JSON key (`service_account_file`), loaded at
// config load time and again at every reload, like a client secret.
struct ServiceAccount {
  std::string client_email;    // the JWT's `iss`
  std::string client_id;       // what the admin authorises for domain-wide delegation
  std::string private_key_id;  // the JWT header's `kid`
  std::string token_uri = "https://oauth2.googleapis.com/token";  // the key file's own
  Secret private_key;          // PEM (RSA); never logged
};

struct CertificateCredential {
  std::string cert_file;  // absolute path (PEM)
  std::string key_file;   // absolute path (PEM, unencrypted)
};

struct Tenant {
  std::string name;       // the key under `tenants:`
  Provider provider = Provider::microsoft;
  std::string tenant_id;  // directory GUID or verified domain
  std::string client_id;
  // Exactly one credential source. The secret's value is loaded at config
  // load time (file or environment) so a reload re-reads rotated secrets.
  std::optional<std::string> client_secret_file;  // absolute path
  std::optional<std::string> client_secret_env;   // variable name
  Secret client_secret;                           // loaded value, empty with certificate
  std::optional<CertificateCredential> certificate;
  // When the client secret lapses (Entra shows it under "Certificates &
  // secrets"); the relay warns ahead. A certificate's own notAfter is read
  // from the file instead.
  std::optional<std::chrono::sys_days> client_secret_expires;
  std::string authority = "https://login.microsoftonline.com";
  std::string scope = "https://outlook.office365.com/.default";
  Endpoint smtp{"smtp.office365.com", 587, TlsMode::starttls, 3};
  Endpoint imap{"outlook.office365.com", 993, TlsMode::implicit, 16};
  Endpoint pop3{"outlook.office365.com", 995, TlsMode::implicit, 16};
  const Endpoint& endpoint(Protocol p) const { return p == Protocol::smtp ? smtp : p == Protocol::imap ? imap : pop3; }
  std::optional<std::string> ca_file;  // absolute path; extra CA for upstream TLS and token endpoint
  SmtpVia smtp_via = SmtpVia::smtp;    // Microsoft tenants only
  GraphSettings graph;                 // used when smtp_via == graph
  // Google tenants: the key file (absolute path) and what it holds. Tokens
  // are then per mailbox (JWT bearer, `sub` = the mailbox), scope
  // `scope` (default for Google: https://mail.google.com/).
  std::optional<std::string> service_account_file;
  std::optional<ServiceAccount> service_account;
  // Outbound HTTP proxy (conf/egress_proxy.hpp): the tenant's `proxy:` or,
  // when absent, the environment's HTTPS_PROXY/https_proxy; `proxy: none`
  // leaves it empty whatever the environment says.
  std::optional<EgressProxy> proxy;
  // Hosts reached directly although `proxy` is set (curl's NO_PROXY rules):
  // the tenant's `no_proxy:` list or, when absent, the environment's
  // NO_PROXY/no_proxy.
  std::vector<std::string> no_proxy;
  // The proxy to reach `host` through; nullptr: connect directly.
  const EgressProxy* proxy_for(std::string_view host) const;

  // {authority}/{tenant_id}/oauth2/v2.0/token; a Google tenant's: the key
  // file's token_uri.
  std::string token_url() const {
    if (provider == Provider::google) return service_account ? service_account->token_uri : std::string();
    std::string base = authority;
    while (!base.empty() && base.back() == '/') base.pop_back();
    return base + "/" + tenant_id + "/oauth2/v2.0/token";
  }
};

struct Listener {
  Protocol protocol = Protocol::smtp;
  std::string listen;  // as written, e.g. "0.0.0.0:587" or "[::]:587"
  std::string address; // "0.0.0.0", "::"
  std::uint16_t port = 0;
  TlsMode tls = TlsMode::none;
  std::optional<std::string> cert_file;  // absolute paths; required unless tls: none
  std::optional<std::string> key_file;
  bool allow_plaintext_auth = false;
  // The oldest TLS version devices may use. Below 1.2 also lowers OpenSSL's
  // security level to 0 for this listener only (TLS 1.0/1.1 need SHA-1).
  TlsVersion min_tls_version = TlsVersion::v1_2;
  // PROXY protocol v1/v2 (HAProxy's spec): every connection must start with
  // a PROXY header, and only from `proxy_from`; the address it carries is the
  // client's for `sources`, `no_auth`, limits and logs.
  bool proxy_protocol = false;
  std::vector<Cidr> proxy_from;  // never empty when proxy_protocol is on
  std::string name() const;  // "smtp:0.0.0.0:587": for logs
};

// The optional HTTP endpoint for ops: /metrics, /healthz, /readyz.
struct Admin {
  std::string listen;   // as written, e.g. "127.0.0.1:9187"
  std::string address;
  std::uint16_t port = 0;
  // Who may talk to it; others get 403. Default: loopback only.
  std::vector<Cidr> allow_from;
};

// For devices that send from an address Office 365 will not take
// (scanner@printer.local): `rewrite_sender`, off unless written. A sender that
// `senders` allows is never rewritten.
struct SenderRewrite {
  bool envelope = false;     // MAIL FROM -> the mailbox
  bool from_header = false;  // also the From: header (header block only, streamed)
  bool reply_to = false;     // keep the original From in Reply-To (unless one exists)
};

// A device that logs in with a local user name and password.
struct User {
  std::string name;
  std::string password_hash;  // crypt(3) string, validated with crypt_checksalt
  std::string tenant;         // key into Config::tenants (validated)
  std::string mailbox;
  std::vector<Protocol> protocols;    // never empty after load (default: all)
  std::vector<Cidr> sources;          // empty = any address
  std::vector<std::string> senders;   // never empty after load (default: {mailbox})
  SenderRewrite rewrite_sender;
  Delivery delivery = Delivery::direct;
  bool allows(Protocol p) const;
};

// Devices that cannot log in, admitted by source address.
struct NoAuthRule {
  std::vector<Cidr> sources;  // never empty
  std::string tenant;
  std::string mailbox;
  std::vector<std::string> senders;  // default: {mailbox}
  SenderRewrite rewrite_sender;
  Delivery delivery = Delivery::direct;
};

// `spool:` — the durable queue for `delivery: spool`.
struct Spool {
  std::string dir = "/var/spool/xoauth2-relay";  // absolute
  std::uint64_t max_size = 2ULL << 30;   // bytes of queued messages; beyond: 452 4.3.1
  std::uint64_t min_free = 512ULL << 20; // free bytes on the spool's file system; below: 452 4.3.1
  std::chrono::seconds max_age{5 * 24 * 3600};  // then the message bounces
  // Delay after the 1st, 2nd, ... failed attempt; the last repeats. Never empty.
  std::vector<std::chrono::seconds> retry_schedule{std::chrono::seconds(60), std::chrono::seconds(120),
                                                   std::chrono::seconds(300), std::chrono::seconds(600),
                                                   std::chrono::seconds(1800), std::chrono::seconds(3600)};
  std::optional<std::string> bounce_to;  // null: the envelope sender
};

// Operational limits. Durations are written in YAML as integers (seconds) or
// strings with a unit: "30s", "5m", "1h".
struct Limits {
  std::size_t max_sessions = 1000;                  // concurrent, all listeners
  std::size_t max_message_size = 35 * 1024 * 1024;  // bytes, Exchange's default
  std::size_t max_line_length = 4096;               // command lines and message lines
  std::chrono::seconds command_timeout{300};        // waiting for the next command
  std::chrono::seconds data_timeout{180};           // between chunks of DATA
  std::chrono::seconds upstream_connect_timeout{30};
  std::chrono::seconds upstream_reply_timeout{120};
  std::chrono::seconds token_timeout{30};            // how long a session waits for a token
  std::chrono::seconds login_cache_ttl{300};        // verified-login cache; 0 disables
  std::chrono::seconds shutdown_grace{30};
  // IMAP/POP3 after login: the splice ends when neither side sent anything
  // for this long (IMAP IDLE refreshes every 29 minutes).
  std::chrono::seconds splice_idle_timeout{1800};
  // How long a session waits for a free per-mailbox connection slot.
  std::chrono::seconds mailbox_wait_timeout{60};
  // Brute-force throttle: this many failed logins from one source (or for one
  // user name, from all sources) within auth_failure_window block the source
  // (or the user name) for auth_block_time; 0 turns that count off.
  std::size_t auth_failures_per_ip = 10;
  std::size_t auth_failures_per_user = 30;
  std::chrono::seconds auth_failure_window{600};
  std::chrono::seconds auth_block_time{900};
  std::size_t max_sessions_per_ip = 50;               // concurrent, from one source
  std::chrono::seconds handshake_timeout{30};         // TLS handshake, PROXY header, first command
  std::chrono::seconds max_session_lifetime{24 * 3600};  // any session, spliced ones included
  std::size_t max_header_size = 1024 * 1024;          // a message's header block, bytes
};

struct Config {
  std::string source_path;  // absolute path of the YAML file
  std::string hostname;     // server.hostname or the system host name
  // server.user: the account a relay started as root (outside systemd) drops
  // to once its ports are bound.
  std::string run_as_user = "xoauth2-relay";
  LogLevel log_level = LogLevel::info;
  LogFormat log_format = LogFormat::text;
  std::map<std::string, Tenant> tenants;
  std::vector<Listener> listeners;
  std::optional<Admin> admin;
  std::map<std::string, User> users;
  std::vector<NoAuthRule> no_auth;
  Limits limits;
  // `trusted_networks`: sources exempt from the per-IP limits and blocks
  // (the printer VLAN), and from user-name blocks.
  std::vector<Cidr> trusted_networks;
  bool trusted(const IpAddress& a) const {
    for (const auto& c : trusted_networks)
      if (c.contains(a)) return true;
    return false;
  }
  // Set when the `spool:` section is written or any user or rule says
  // `delivery: spool` (then with the defaults): the relay then opens the
  // spool at start and delivers what is queued in it.
  std::optional<Spool> spool;
};

struct ConfigError {
  std::string file;
  int line = 0;    // 1-based; 0 when the error is not tied to a place
  int column = 0;  // 1-based
  std::string key;      // dotted path, e.g. "tenants.contoso.tenant_id"
  std::string message;  // what is wrong and how to fix it
  std::string format() const;  // "file:line:column: key: message"
};

struct LoadResult {
  std::optional<Config> config;       // set only when errors is empty
  std::vector<ConfigError> errors;    // every error found, in file order
  // Likely mistakes the relay still runs with (a plain listener that offers
  // no AUTH, a secret that looks like the Secret ID, an expired
  // certificate...): check-config prints them, `run` logs them at warn.
  std::vector<ConfigError> warnings;
};

// Reads, parses and validates the file, including the certificate and key
// files it names (loaded and matched as `run` will: conf/pem_check.hpp).
// Never throws; all problems (including an unreadable file or invalid YAML)
// come back as errors.
LoadResult load_config(const std::string& path);

// Same, from text (for tests); `path` is used for messages and to resolve
// relative paths. Certificate and key files are checked to be readable
// files; their contents are only loaded and matched with `check_pem_contents`
// (load_config always does), so tests of other rules may name placeholders.
LoadResult load_config_from_string(const std::string& yaml, const std::string& path,
                                   bool check_pem_contents = false);

}  // namespace xr::conf
