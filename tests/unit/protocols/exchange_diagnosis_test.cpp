#include "protocols/exchange_diagnosis.hpp"

#include <doctest/doctest.h>

using xr::smtp::explain_exchange_reply;
using xr::smtp::make_reply;

TEST_CASE("diagnosis: every 535 is a refused token, whatever its enhanced code") {
  // Exchange's own text, a bare 535, and Postfix/Dovecot's 5.7.8.
  for (const char* text : {"5.7.3 Authentication unsuccessful [X]", "Authentication failed",
                           "5.7.8 Error: authentication failed: (reason unavailable)"}) {
    CAPTURE(text);
    auto why = explain_exchange_reply(make_reply(535, text));
    CHECK(why.find("SMTP.SendAsApp") != std::string::npos);
    CHECK(why.find("Add-MailboxPermission") != std::string::npos);
  }
}

TEST_CASE("diagnosis: SMTP AUTH disabled is told apart from a refused token") {
  auto why = explain_exchange_reply(make_reply(
      535, "5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant."));
  CHECK(why.find("Set-CASMailbox") != std::string::npos);
  CHECK(why.find("SMTP.SendAsApp") == std::string::npos);
}

TEST_CASE("diagnosis: send-as, concurrency and replies it cannot explain") {
  CHECK(explain_exchange_reply(make_reply(550, "5.7.60 SMTP; Client does not have permissions to send as this sender"))
            .find("Add-RecipientPermission") != std::string::npos);
  CHECK(explain_exchange_reply(make_reply(432, "4.3.2 Concurrent connections limit exceeded."))
            .find("3 concurrent") != std::string::npos);
  CHECK(explain_exchange_reply(make_reply(250, "2.0.0 OK")).empty());
  CHECK(explain_exchange_reply(make_reply(553, "5.7.1 <a@b>: Sender address rejected: not owned by user c@d")).empty());
}
