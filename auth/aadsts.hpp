// What the Microsoft identity platform's AADSTS error codes mean for the
// admin of this relay, and whether retrying can help. Branching is on the
// numeric codes from `error_codes`, never on the description text.
#pragma once

#include "conf/config.hpp"

#include <string>

namespace xr::auth {

struct AadstsAdvice {
  long code;
  const char* meaning;  // short, for the log's error= field
  const char* fix;      // what the admin should do
  bool transient;       // a retry may succeed without anyone changing anything
};

// nullptr for codes the table does not know.
const AadstsAdvice* find_aadsts(long code);

// The fix for `code` with this tenant's own names filled in: the secret's
// file (or variable) or the certificate's, the client ID, the tenant (name
// and ID), the config key to change and where in the Entra admin center to
// go. Empty for codes without such a text (the table's fix then applies).
std::string aadsts_tenant_fix(long code, const conf::Tenant& t);

}  // namespace xr::auth
