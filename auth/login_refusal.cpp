#include "auth/login_refusal.hpp"

#include "protocols/exchange_diagnosis.hpp"

namespace xr::auth {

std::string google_login_refused_cause(const conf::Tenant& t, conf::Protocol protocol) {
  const std::string client_id = t.service_account ? t.service_account->client_id : "(see service_account_file)";
  std::string cause = "Google refused the token: the mailbox's user may be suspended or ";
  if (protocol == conf::Protocol::smtp)
    cause += "not allowed to send (Admin console > Apps > Google Workspace > Gmail)";
  else
    cause += std::string("without ") + (protocol == conf::Protocol::imap ? "IMAP" : "POP") +
             " access (Admin console > Apps > Google Workspace > Gmail > End User Access)";
  cause += ", or the domain-wide delegation of client ID " + client_id + " lacks the scope " + t.scope +
           " (Security > API controls > Domain-wide delegation)";
  return cause;
}

std::string explain_smtp_login_reply(const conf::Tenant& t, const smtp::Reply& reply) {
  if (t.provider == conf::Provider::google) {
    if (reply.code == 535) return google_login_refused_cause(t, conf::Protocol::smtp);
    return {};  // Exchange's texts would mislead
  }
  return smtp::explain_exchange_reply(reply);
}

}  // namespace xr::auth
