// `doctor`'s rows for a Google Workspace tenant (provider: google): the
// service account the key file names, then per mapped mailbox a token (JWT
// bearer, `sub` = the mailbox: domain-wide delegation) before that mailbox's
// login rows. Failures name the Admin console's domain-wide delegation page,
// the service account's client ID and the scope. Blocking (curl): the doctor
// runs outside the relay's event loops.
#pragma once

#include "conf/config.hpp"
#include "conf/secret.hpp"
#include "relay/doctor_plan.hpp"
#include "relay/doctor_report.hpp"

#include <optional>
#include <string>
#include <vector>

namespace xr::relay {

bool is_google(const conf::Tenant& t);

class GoogleDoctor {
 public:
  GoogleDoctor(const conf::Config& cfg, std::vector<DoctorRow>& rows) : cfg_(cfg), rows_(rows) {}

  // A "service account" row: the key file's account, client ID and key ID.
  void check_tenant(const std::string& name);
  // A "token" row for the mailbox; the token when Google issued one.
  std::optional<conf::Secret> mailbox_token(const DoctorMailbox& m);

 private:
  const conf::Config& cfg_;
  std::vector<DoctorRow>& rows_;
};

// A login refused with a Google token: the user's IMAP/POP/SMTP access or
// the delegation's scope.
std::string fix_google_login(const conf::Tenant& t, conf::Protocol p);

}  // namespace xr::relay
