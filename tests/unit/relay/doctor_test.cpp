// doctor's pure parts: what it checks for a config, and how it reports.
#include "relay/doctor_plan.hpp"
#include "relay/doctor_report.hpp"

#include <doctest/doctest.h>

using namespace xr;
using namespace xr::relay;
using conf::Protocol;

namespace {

conf::Config config() {
  conf::Config c;
  for (const char* name : {"contoso", "fabrikam"}) {
    conf::Tenant t;
    t.name = name;
    t.tenant_id = std::string(name) + ".onmicrosoft.com";
    t.client_id = "8a1b2c3d-0000-4000-8000-000000000002";
    c.tenants[name] = t;
  }
  conf::Listener smtp, imap;
  smtp.protocol = Protocol::smtp;
  imap.protocol = Protocol::imap;
  c.listeners = {smtp, imap};  // no POP3 listener
  auto user = [&](const char* name, const char* tenant, const char* mailbox, std::vector<Protocol> protocols,
                  std::vector<std::string> senders) {
    conf::User u;
    u.name = name;
    u.tenant = tenant;
    u.mailbox = mailbox;
    u.protocols = std::move(protocols);
    u.senders = std::move(senders);
    c.users[name] = u;
  };
  user("scanner01", "contoso", "scanner@contoso.com", {Protocol::smtp}, {"scanner@contoso.com"});
  user("scanner02", "contoso", "Scanner@Contoso.com", {Protocol::imap, Protocol::pop3},
       {"scanner@contoso.com"});
  user("erp", "contoso", "erp@contoso.com", {Protocol::smtp},
       {"erp@contoso.com", "noreply@contoso.com", "*@contoso.com"});
  user("fab", "fabrikam", "fax@fabrikam.com", {Protocol::pop3}, {"fax@fabrikam.com"});
  conf::NoAuthRule rule;
  rule.tenant = "contoso";
  rule.mailbox = "mfp@contoso.com";
  rule.senders = {"*@contoso.com"};
  c.no_auth = {rule};
  return c;
}

}  // namespace

TEST_CASE("doctor plan: mailboxes merged case-insensitively, protocols served by a listener, literal senders") {
  auto plan = plan_doctor(config(), "", "");
  CHECK(plan.tenants == std::vector<std::string>{"contoso", "fabrikam"});
  // fax@fabrikam.com is POP3 only and nothing listens for POP3: nothing to check.
  REQUIRE(plan.mailboxes.size() == 3);
  const auto& erp = plan.mailboxes[0];  // users are iterated by name: erp, fab, scanner01, scanner02
  CHECK(erp.mailbox == "erp@contoso.com");
  CHECK(erp.protocols == std::vector<Protocol>{Protocol::smtp});
  CHECK(erp.senders == std::vector<std::string>{"erp@contoso.com", "noreply@contoso.com"});
  const auto& scanner = plan.mailboxes[1];
  CHECK(scanner.mailbox == "scanner@contoso.com");
  CHECK(scanner.protocols == std::vector<Protocol>{Protocol::smtp, Protocol::imap});
  CHECK(scanner.senders == std::vector<std::string>{"scanner@contoso.com"});
  const auto& mfp = plan.mailboxes[2];
  CHECK(mfp.mailbox == "mfp@contoso.com");
  CHECK(mfp.protocols == std::vector<Protocol>{Protocol::smtp});
  CHECK(mfp.senders == std::vector<std::string>{"mfp@contoso.com"});
}

TEST_CASE("doctor plan: --tenant and --mailbox narrow it") {
  auto plan = plan_doctor(config(), "contoso", "SCANNER@contoso.com");
  CHECK(plan.tenants == std::vector<std::string>{"contoso"});
  REQUIRE(plan.mailboxes.size() == 1);
  CHECK(plan.mailboxes[0].mailbox == "scanner@contoso.com");
  CHECK(plan_doctor(config(), "fabrikam", "").mailboxes.empty());
  CHECK(plan_doctor(config(), "nope", "").tenants.empty());
}

TEST_CASE("doctor report: aligned table, numbered fixes, a verdict") {
  auto c = config();
  const auto& t = c.tenants.at("contoso");
  std::vector<DoctorRow> rows{
      {"contoso", "-", "-", "token", true, "ok", ""},
      {"contoso", "-", "-", "roles", false, "missing IMAP.AccessAsApp", fix_missing_roles(t, {"IMAP.AccessAsApp"})},
      {"contoso", "scanner@contoso.com", "smtp", "send as noreply@contoso.com", false, "550 5.7.60",
       fix_send_as(t, "noreply@contoso.com")},
  };
  auto text = render_doctor_report(rows);
  CHECK(text.find("TENANT   MAILBOX              PROTOCOL  CHECK                        RESULT\n") == 0);
  CHECK(text.find("contoso  -                    -         token                        ok\n") != std::string::npos);
  CHECK(text.find("FAIL: missing IMAP.AccessAsApp") != std::string::npos);
  CHECK(text.find("  1. contoso: Entra admin center > App registrations > 8a1b2c3d-0000-4000-8000-000000000002 > "
                  "API permissions") != std::string::npos);
  CHECK(text.find("Grant admin consent for tenant contoso.onmicrosoft.com") != std::string::npos);
  CHECK(text.find("  2. contoso scanner@contoso.com (smtp): the app may not send as noreply@contoso.com. In "
                  "Exchange Online PowerShell: Add-RecipientPermission -Identity noreply@contoso.com -Trustee "
                  "8a1b2c3d-0000-4000-8000-000000000002 -AccessRights SendAs") != std::string::npos);
  CHECK(text.ends_with("\n2 of 3 checks failed.\n"));
  CHECK(render_doctor_report({rows[0]}).ends_with("\nAll 1 checks passed.\n"));
}

TEST_CASE("doctor fixes name the mailbox and the app") {
  auto c = config();
  const auto& t = c.tenants.at("contoso");
  auto access = fix_mailbox_access(t, "scanner@contoso.com", "SMTP.SendAsApp");
  CHECK(access.find("New-ServicePrincipal -AppId 8a1b2c3d-0000-4000-8000-000000000002") != std::string::npos);
  CHECK(access.find("Add-MailboxPermission -Identity scanner@contoso.com -User 8a1b2c3d-0000-4000-8000-000000000002 "
                    "-AccessRights FullAccess") != std::string::npos);
  CHECK(fix_smtp_auth_disabled("scanner@contoso.com").find(
            "Set-CASMailbox -Identity scanner@contoso.com -SmtpClientAuthenticationDisabled $false") !=
        std::string::npos);
  conf::Endpoint ep{"smtp.office365.com", 587, conf::TlsMode::starttls, 3};
  CHECK(fix_unreachable(ep).find("smtp.office365.com:587") != std::string::npos);
}
