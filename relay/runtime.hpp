// What every session needs from the process: the config snapshot it started
// with (reloads swap the snapshot, sessions keep theirs), TLS contexts built
// from it, and the shared services.
#pragma once

#include "auth/auth_throttle.hpp"
#include "auth/login_cache.hpp"
#include "auth/token_provider.hpp"
#include "conf/config.hpp"
#include "relay/asio.hpp"
#include "relay/log.hpp"
#include "relay/mailbox_slots.hpp"
#include "relay/metrics.hpp"

#include <atomic>
#include <map>
#include <memory>

namespace xr::relay {

class DeliveryEngine;
class GraphRunner;

struct ConfigSnapshot {
  conf::Config config;
  // Upstream TLS per tenant (system CAs + the tenant's ca_file).
  std::map<std::string, std::shared_ptr<ssl::context>> upstream_tls;
  // Listener TLS, index-aligned with config.listeners (null for tls: none).
  std::vector<std::shared_ptr<ssl::context>> listener_tls;
  std::shared_ptr<ssl::context> plain_tls;  // placeholder for plain listeners

  // Builds every TLS context; throws std::runtime_error naming the bad file.
  static std::shared_ptr<const ConfigSnapshot> build(conf::Config cfg);
};

struct Services {
  Logger& log;
  auth::TokenProvider& tokens;
  auth::LoginCache& login_cache;
  net::thread_pool& blocking;  // crypt(3) and other CPU-heavy or blocking calls
  std::atomic<std::size_t>& active_sessions;
  MailboxSlots& mailbox_slots;
  Metrics& metrics;
  // The spool's delivery engine; null while no spool is configured.
  std::atomic<DeliveryEngine*>& spool;
  // The brute-force throttle: checked before any password check.
  auth::AuthThrottle& throttle;
  // Microsoft Graph sendMail (tenants with smtp: {via: graph}), on its own pool.
  GraphRunner& graph;
};

// A short id for correlating a session's log lines.
std::string new_session_id();

}  // namespace xr::relay
