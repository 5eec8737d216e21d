#include "protocols/exchange_diagnosis.hpp"

namespace xr::smtp {

std::string explain_exchange_reply(const Reply& reply) {
  const std::string enh = reply.enhanced();
  const std::string text = reply.summary();
  if (enh == "5.7.139" || text.find("SmtpClientAuthentication is disabled") != std::string::npos)
    return "SMTP AUTH is disabled for the tenant or mailbox (security defaults?); run "
           "Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false";
  // Any 535: Exchange says 5.7.3, other servers (and Exchange's older
  // texts) use other enhanced codes for the same refusal of the token.
  if (enh == "5.7.3" || reply.code == 535)
    return "token refused: the app lacks the SMTP.SendAsApp application permission (with admin consent), "
           "its service principal is not registered in Exchange (New-ServicePrincipal with the Enterprise "
           "Application's object ID), or it has no FullAccess on the mailbox (Add-MailboxPermission)";
  if (enh == "5.7.60")
    return "the app may not send as this sender; grant it with Add-RecipientPermission -Identity <address> "
           "-Trustee <service principal> -AccessRights SendAs, or send from the mailbox itself";
  if (enh == "5.7.30")
    return "Basic authentication was used; the relay always uses XOAUTH2, so this reply is unexpected";
  if (enh == "4.3.2" || reply.code == 432)
    return "Exchange limits SMTP AUTH to 3 concurrent connections per mailbox; lower the number of devices "
           "sending at once through this mailbox";
  if (enh == "5.2.2") return "the mailbox is full";
  if (text.find("SubmissionQuotaExceeded") != std::string::npos)
    return "the mailbox reached its daily recipient limit (10,000 recipients per day)";
  if (reply.code == 421 && enh == "4.7.66")
    return "TLS 1.0/1.1 refused by Exchange; the relay uses TLS 1.2+, check for a TLS-intercepting proxy";
  return {};
}

}  // namespace xr::smtp
