#include "relay/metrics.hpp"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

namespace xr::relay {
namespace {

struct Family {
  std::string_view name;
  std::string_view type;
  std::string_view help;
};

// The families, in the order /metrics shows them.
constexpr Family kFamilies[] = {
    {"xoauth2_relay_build_info", "gauge", "Version of the running relay (value is always 1)."},
    {"xoauth2_relay_sessions_total", "counter", "Device sessions accepted, by protocol and listener."},
    {"xoauth2_relay_sessions_active", "gauge", "Device sessions in progress, by protocol and listener."},
    {"xoauth2_relay_sessions_refused_total", "counter",
     "Connections refused before a session, by listener and reason: max_sessions or max_sessions_per_ip."},
    {"xoauth2_relay_logins_total", "counter",
     "Device logins by protocol and outcome: ok, or denied (our own check refused it; the log says why)."},
    {"xoauth2_relay_auth_blocked_total", "counter",
     "Logins and connections refused by the brute-force throttle, by protocol and scope (ip, user)."},
    {"xoauth2_relay_upstream_logins_total", "counter",
     "XOAUTH2 logins at Office 365 by protocol and outcome (ok, refused, unavailable)."},
    {"xoauth2_relay_upstream_replies_total", "counter", "SMTP replies from Office 365 by class (2xx, 3xx, 4xx, 5xx)."},
    {"xoauth2_relay_messages_total", "counter",
     "Messages by outcome: accepted (Office 365 said 250), queued (spooled: durable on disk), "
     "rejected (Office 365 refused it) or failed (the device heard a 4xx the relay made)."},
    {"xoauth2_relay_bytes_total", "counter",
     "Bytes relayed by protocol and direction (in: from devices, out: to devices)."},
    {"xoauth2_relay_token_requests_total", "counter", "Token requests to the identity platform by tenant and outcome."},
    {"xoauth2_relay_token_expiry_seconds", "gauge", "Seconds until the tenant's cached token expires."},
    {"xoauth2_relay_credential_expiry_seconds", "gauge",
     "Seconds until the tenant's client secret (client_secret_expires) or certificate (notAfter) lapses."},
    {"xoauth2_relay_mailbox_waiting", "gauge",
     "Sessions waiting for a free connection to a mailbox (max_connections_per_mailbox)."},
    {"xoauth2_relay_config_reloads_total", "counter", "Configuration reloads by outcome."},
    {"xoauth2_relay_sessions_revoked_total", "counter",
     "Live sessions ended because a reload took their access away, by reason."},
    {"xoauth2_relay_device_mistakes_total", "counter",
     "Device set-up mistakes the log explains with a hint (login before TLS, wrong port...), by protocol and kind."},
    {"xoauth2_relay_spool_messages", "gauge", "Messages in the spool (queued, held or being delivered)."},
    {"xoauth2_relay_spool_bytes", "gauge", "Bytes the spool's queued messages take on disk."},
    {"xoauth2_relay_spool_oldest_age_seconds", "gauge", "Age of the oldest message in the spool (0 when empty)."},
    {"xoauth2_relay_spool_accepted_total", "counter",
     "Spooled messages by outcome: queued (250 Queued as) or refused (452 4.3.1 / 451: nothing queued)."},
    {"xoauth2_relay_spool_deliveries_total", "counter",
     "Delivery attempts from the spool by outcome: delivered, retry, failed (permanent: bounced) or expired (max_age)."},
    {"xoauth2_relay_spool_bounces_total", "counter", "Delivery status notifications queued for failed or expired messages."},
};

const Family& family_of(std::string_view name) {
  for (const auto& f : kFamilies)
    if (f.name == name) return f;
  throw std::logic_error(fmt::format("metric family {} is not declared", name));
}

// Label values escape backslash, double quote and newline.
void append_label_value(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<long long>(v));
  return fmt::format("{}", v);
}

}  // namespace

std::string Metrics::series_key(std::string_view family, const MetricLabels& labels) {
  family_of(family);
  if (labels.empty()) return {};
  std::string key = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i) key += ',';
    key += labels[i].first;
    key += "=\"";
    append_label_value(key, labels[i].second);
    key += '"';
  }
  key += '}';
  return key;
}

void Metrics::add(std::string_view family, const MetricLabels& labels, double delta) {
  auto key = series_key(family, labels);
  std::lock_guard g(mutex_);
  auto it = values_.find(family);
  if (it == values_.end()) it = values_.emplace(std::string(family), std::map<std::string, double>{}).first;
  it->second[key] += delta;
}

void Metrics::set(std::string_view family, const MetricLabels& labels, double value) {
  auto key = series_key(family, labels);
  std::lock_guard g(mutex_);
  auto it = values_.find(family);
  if (it == values_.end()) it = values_.emplace(std::string(family), std::map<std::string, double>{}).first;
  it->second[key] = value;
}

void Metrics::replace(std::string_view family, const std::vector<std::pair<MetricLabels, double>>& series) {
  std::map<std::string, double> fresh;
  for (const auto& [labels, v] : series) fresh[series_key(family, labels)] = v;
  family_of(family);
  std::lock_guard g(mutex_);
  values_[std::string(family)] = std::move(fresh);
}

double Metrics::value(std::string_view family, const MetricLabels& labels) const {
  auto key = series_key(family, labels);
  std::lock_guard g(mutex_);
  auto it = values_.find(family);
  if (it == values_.end()) return 0;
  auto s = it->second.find(key);
  return s == it->second.end() ? 0 : s->second;
}

std::string Metrics::render() const {
  std::string out;
  std::lock_guard g(mutex_);
  for (const auto& f : kFamilies) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f.name, f.help, f.name, f.type);
    auto it = values_.find(f.name);
    if (it == values_.end()) continue;
    for (const auto& [labels, v] : it->second) out += fmt::format("{}{} {}\n", f.name, labels, format_value(v));
  }
  return out;
}

}  // namespace xr::relay
