// What the Microsoft identity platform's AADSTS error codes mean for the
// admin of this relay, and whether retrying can help. Branching is on the
// numeric codes from `error_codes`, never on the description text.
#pragma once

namespace xr::auth {

struct AadstsAdvice {
  long code;
  const char* meaning;  // short, for the log's error= field
  const char* fix;      // what the admin should do
  bool transient;       // a retry may succeed without anyone changing anything
};

// nullptr for codes the table does not know.
const AadstsAdvice* find_aadsts(long code);

}  // namespace xr::auth
