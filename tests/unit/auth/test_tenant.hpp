#pragma once
// A tenant with a client secret, as the token tests build it.

#include "conf/config.hpp"

#include <string>

namespace xr::test {

inline conf::Tenant secret_tenant(const std::string& secret) {
  conf::Tenant t;
  t.name = "contoso";
  t.tenant_id = "tid";
  t.client_id = "cid";
  t.client_secret = conf::Secret(secret);
  return t;
}

}  // namespace xr::test
