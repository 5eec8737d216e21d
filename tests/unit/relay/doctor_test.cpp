// doctor's pure parts: what it checks for a config, and how it reports.
#include "auth/aadsts.hpp"
#include "protocols/imap_client.hpp"
#include "relay/doctor_plan.hpp"
#include "relay/doctor_report.hpp"

#include <doctest/doctest.h>

#include <string_view>

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
       fix_send_as(t, "noreply@contoso.com", "6d2f0000-0000-4000-8000-0000000000aa")},
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
                  "6d2f0000-0000-4000-8000-0000000000aa -AccessRights SendAs") != std::string::npos);
  CHECK(text.ends_with("\n2 of 3 checks failed.\n"));
  CHECK(render_doctor_report({rows[0]}).ends_with("\nAll 1 checks passed.\n"));
}

TEST_CASE("doctor fixes name the mailbox and the app") {
  auto c = config();
  const auto& t = c.tenants.at("contoso");
  auto access = fix_mailbox_access(t, "scanner@contoso.com", "SMTP.SendAsApp");
  CHECK(access.find("New-ServicePrincipal -AppId 8a1b2c3d-0000-4000-8000-000000000002") != std::string::npos);
  // -User is the service principal, not the client ID: without the token's
  // oid the admin is told which portal Object ID it is.
  CHECK(access.find("Add-MailboxPermission -Identity scanner@contoso.com -User <Enterprise application's Object ID> "
                    "-AccessRights FullAccess") != std::string::npos);
  CHECK(access.find("the app registration's Object ID differs") != std::string::npos);
  auto with_oid =
      fix_mailbox_access(t, "scanner@contoso.com", "SMTP.SendAsApp", "6d2f0000-0000-4000-8000-0000000000aa");
  CHECK(with_oid.find("New-ServicePrincipal -AppId 8a1b2c3d-0000-4000-8000-000000000002 -ObjectId "
                      "6d2f0000-0000-4000-8000-0000000000aa") != std::string::npos);
  CHECK(with_oid.find("Add-MailboxPermission -Identity scanner@contoso.com -User 6d2f0000-0000-4000-8000-0000000000aa "
                      "-AccessRights FullAccess") != std::string::npos);
  CHECK(fix_smtp_auth_disabled("scanner@contoso.com").find(
            "Set-CASMailbox -Identity scanner@contoso.com -SmtpClientAuthenticationDisabled $false") !=
        std::string::npos);
  conf::Endpoint ep{"smtp.office365.com", 587, conf::TlsMode::starttls, 3};
  CHECK(fix_unreachable(ep).find("smtp.office365.com:587") != std::string::npos);
}

TEST_CASE("doctor --mailbox: a mailbox it would not check is an error that names what the config maps") {
  auto c = config();
  auto problem = [&](const std::string& tenant, const std::string& mailbox) {
    return mailbox_filter_problem(c, tenant, mailbox, plan_doctor(c, tenant, mailbox));
  };
  CHECK(problem("", "").empty());
  CHECK(problem("", "ERP@contoso.com").empty());
  CHECK(problem("", "typo@contoso.com") ==
        "mailbox typo@contoso.com is in no user or no_auth rule of the configuration; it maps mailboxes: "
        "erp@contoso.com, fax@fabrikam.com, mfp@contoso.com, scanner@contoso.com");
  CHECK(problem("fabrikam", "typo@contoso.com") ==
        "mailbox typo@contoso.com is in no user or no_auth rule of the configuration; it maps tenant fabrikam's "
        "mailboxes: fax@fabrikam.com");
  CHECK(problem("fabrikam", "erp@contoso.com").find("is not mapped in tenant fabrikam") != std::string::npos);
  // Mapped, but POP3 only and nothing listens for POP3.
  CHECK(problem("", "fax@fabrikam.com").find("no listener serves") != std::string::npos);
  c.users.clear();
  c.no_auth.clear();
  CHECK(problem("", "x@y.com") ==
        "mailbox x@y.com is in no user or no_auth rule of the configuration; the configuration maps no mailboxes");
}

TEST_CASE("doctor: Entra's token errors get the tenant's file, client ID and tenant") {
  auto c = config();
  auto t = c.tenants.at("contoso");
  t.client_secret_file = "/etc/xoauth2-relay/contoso.secret";
  auto fix = auth::aadsts_tenant_fix(7000215, t);
  CHECK(fix == "the client secret in /etc/xoauth2-relay/contoso.secret is not valid for client ID "
               "8a1b2c3d-0000-4000-8000-000000000002 in tenant contoso (contoso.onmicrosoft.com): create a new secret "
               "in Entra admin center > App registrations > application (client) ID "
               "8a1b2c3d-0000-4000-8000-000000000002 > Certificates & secrets and put its Value (not the Secret ID) "
               "into that file, then reload");
  CHECK(auth::aadsts_tenant_fix(7000222, t).find("/etc/xoauth2-relay/contoso.secret for client ID") !=
        std::string::npos);
  CHECK(auth::aadsts_tenant_fix(700016, t).find("tenants.contoso.client_id") != std::string::npos);
  t.client_secret_file.reset();
  t.client_secret_env = "CONTOSO_SECRET";
  CHECK(auth::aadsts_tenant_fix(7000215, t).find("environment variable CONTOSO_SECRET") != std::string::npos);
  t.certificate = conf::CertificateCredential{"/etc/x/app.crt", "/etc/x/app.key"};
  CHECK(auth::aadsts_tenant_fix(700027, t).find("upload /etc/x/app.crt") != std::string::npos);
  CHECK(auth::aadsts_tenant_fix(90033, t).empty());  // transient: the table's text is right
}

TEST_CASE("doctor: a certificate that does not verify points at ca_file and a TLS-inspecting proxy") {
  CHECK(is_certificate_failure("SSL certificate problem: unable to get local issuer certificate"));
  CHECK(is_certificate_failure("TLS handshake with 127.0.0.1:993: error: error:0A000086:SSL routines::certificate "
                               "verify failed (certificate: self-signed certificate in certificate chain)"));
  CHECK_FALSE(is_certificate_failure("connect to 127.0.0.1:993: Connection refused"));
  CHECK_FALSE(is_certificate_failure("Could not resolve host: login.microsoftonline.com"));
  auto c = config();
  auto t = c.tenants.at("contoso");
  auto fix = fix_tls_verification(t, "outlook.office365.com:993");
  CHECK(fix.find("outlook.office365.com:993") != std::string::npos);
  CHECK(fix.find("tenants.contoso.ca_file") != std::string::npos);
  CHECK(fix.find("TLS-inspecting proxy") != std::string::npos);
  CHECK(fix.find("DNS") == std::string::npos);
  CHECK(fix.find("firewall") == std::string::npos);
  t.ca_file = "/etc/ssl/proxy.pem";
  CHECK(fix_tls_verification(t, "x:1").find("tenants.contoso.ca_file is now /etc/ssl/proxy.pem") !=
        std::string::npos);
}

TEST_CASE("doctor: a 404 from the token endpoint shows the URL and wants a bare-origin authority") {
  CHECK(authority_origin("https://login.microsoftonline.com") == "https://login.microsoftonline.com");
  CHECK(authority_origin("https://login.microsoftonline.com/abc/") == "https://login.microsoftonline.com");
  CHECK(authority_origin("https://127.0.0.1:8443/t?x") == "https://127.0.0.1:8443");
  auto c = config();
  auto t = c.tenants.at("contoso");
  t.authority = "https://login.microsoftonline.com/contoso.onmicrosoft.com";
  CHECK(fix_token_not_found(t) ==
        "tenants.contoso.authority is https://login.microsoftonline.com/contoso.onmicrosoft.com, but authority must "
        "be a bare origin: the relay adds /contoso.onmicrosoft.com/oauth2/v2.0/token itself. Set "
        "tenants.contoso.authority: https://login.microsoftonline.com");
  t.authority = "https://login.microsoftonline.com/";
  auto bare = fix_token_not_found(t);
  CHECK(bare.find("no token endpoint at https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token") !=
        std::string::npos);
  CHECK(bare.find("bare origin") == std::string::npos);
}

TEST_CASE("doctor: FullAccess fix for Exchange's 'authenticated but not connected'") {
  auto c = config();
  const auto& t = c.tenants.at("contoso");
  auto fix = fix_full_access(t, "scanner@contoso.com", "6d2f0000-0000-4000-8000-0000000000aa");
  CHECK(fix.find("Add-MailboxPermission -Identity scanner@contoso.com -User 6d2f0000-0000-4000-8000-0000000000aa "
                 "-AccessRights FullAccess") != std::string::npos);
  CHECK(fix.find("Enterprise applications > the app with Application ID 8a1b2c3d-0000-4000-8000-000000000002") !=
        std::string::npos);
  CHECK(fix.find("the app registration's Object ID differs") != std::string::npos);
}

namespace {

// Feeds `server` to a fresh probe in pieces of `step` bytes (0: at once).
imap::ExamineProbe probe_with(std::string_view server, std::size_t step, imap::ExamineProbe::Result& result) {
  imap::ExamineProbe probe;
  result = imap::ExamineProbe::Result::need_input;
  if (step == 0) {
    result = probe.feed(server);
  } else {
    for (std::size_t i = 0; i < server.size(); i += step) result = probe.feed(server.substr(i, step));
  }
  return probe;
}

}  // namespace

TEST_CASE("doctor's EXAMINE probe: OK, Exchange's BAD, BYE and EOF, split at every byte") {
  using R = imap::ExamineProbe::Result;
  CHECK(imap::ExamineProbe::kCommand == "xr4 EXAMINE INBOX\r\n");
  const std::string ok = "* FLAGS (\\Seen)\r\n* 3 EXISTS\r\n* OK [UIDVALIDITY 1] UIDVALIDITY value\r\n"
                         "xr3 OK stray\r\nxr4 OK [READ-ONLY] EXAMINE completed.\r\n";
  const std::string bad = "xr4 BAD User is authenticated but not connected.\r\n";
  const std::string no = "* 0 EXISTS\r\nxr4 NO The requested item could not be found.\r\n";
  for (std::size_t step = 0; step <= 3; ++step) {
    CAPTURE(step);
    R r{};
    auto p = probe_with(ok, step, r);
    CHECK(r == R::ok);
    CHECK(p.said() == "OK [READ-ONLY] EXAMINE completed.");
    CHECK_FALSE(p.not_connected());
    auto b = probe_with(bad, step, r);
    CHECK(r == R::refused);
    CHECK(b.not_connected());
    CHECK(b.said() == "BAD User is authenticated but not connected.");
    auto n = probe_with(no, step, r);
    CHECK(r == R::refused);
    CHECK_FALSE(n.not_connected());
  }
  // Every split point of the BAD reply, as two pieces.
  for (std::size_t cut = 0; cut <= bad.size(); ++cut) {
    imap::ExamineProbe p;
    auto first = p.feed(std::string_view(bad).substr(0, cut));
    CHECK(first == (cut == bad.size() ? R::refused : R::need_input));
    CHECK(p.feed(std::string_view(bad).substr(cut)) == R::refused);
    CHECK(p.not_connected());
  }
  R r{};
  auto bye = probe_with("* BYE server shutting down\r\n", 0, r);
  CHECK(r == R::failed);
  CHECK(bye.said() == "* BYE server shutting down");
  imap::ExamineProbe cut;
  CHECK(cut.feed("* 1 EXISTS\r\nxr4 O") == R::need_input);
  CHECK(cut.eof() == R::failed);
  CHECK(cut.said() == "the connection closed before the EXAMINE reply");
}
