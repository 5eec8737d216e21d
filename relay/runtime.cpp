#include "relay/runtime.hpp"

#include "relay/tls.hpp"

#include <fmt/format.h>
#include <openssl/rand.h>

namespace xr::relay {

std::shared_ptr<const ConfigSnapshot> ConfigSnapshot::build(conf::Config cfg) {
  auto snap = std::make_shared<ConfigSnapshot>();
  for (const auto& [name, tenant] : cfg.tenants) snap->upstream_tls[name] = make_client_tls(tenant.ca_file);
  for (const auto& l : cfg.listeners) {
    if (l.tls == conf::TlsMode::none || !l.cert_file || !l.key_file) snap->listener_tls.push_back(nullptr);
    else snap->listener_tls.push_back(make_server_tls(*l.cert_file, *l.key_file, l.min_tls_version));
  }
  snap->plain_tls = make_plain_placeholder_tls();
  snap->config = std::move(cfg);
  return snap;
}

std::string new_session_id() {
  // Random, so ids from restarts and from several relays do not collide in
  // a shared log store.
  unsigned char b[6];
  if (RAND_bytes(b, sizeof b) != 1) {
    static std::atomic<unsigned long long> counter{0};
    return fmt::format("{:012x}", ++counter);
  }
  return fmt::format("{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}", b[0], b[1], b[2], b[3], b[4], b[5]);
}

}  // namespace xr::relay
