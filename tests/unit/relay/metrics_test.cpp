#include "relay/metrics.hpp"

#include <doctest/doctest.h>

#include <stdexcept>

using namespace xr::relay;

namespace {
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
}  // namespace

TEST_CASE("counters add up per label set and render with HELP and TYPE") {
  Metrics m;
  m.add("xoauth2_relay_logins_total", {{"protocol", "smtp"}, {"outcome", "ok"}});
  m.add("xoauth2_relay_logins_total", {{"protocol", "smtp"}, {"outcome", "ok"}});
  m.add("xoauth2_relay_logins_total", {{"protocol", "imap"}, {"outcome", "denied"}});
  m.add("xoauth2_relay_bytes_total", {{"protocol", "smtp"}, {"direction", "in"}}, 5242880);
  CHECK(m.value("xoauth2_relay_logins_total", {{"protocol", "smtp"}, {"outcome", "ok"}}) == 2);
  CHECK(m.value("xoauth2_relay_logins_total", {{"protocol", "pop3"}, {"outcome", "ok"}}) == 0);
  auto text = m.render();
  CHECK(contains(text, "# HELP xoauth2_relay_logins_total Device logins by protocol and outcome: ok, or denied "
                       "(our own check refused it; the log says why).\n"
                       "# TYPE xoauth2_relay_logins_total counter\n"));
  CHECK(contains(text, "xoauth2_relay_logins_total{protocol=\"smtp\",outcome=\"ok\"} 2\n"));
  CHECK(contains(text, "xoauth2_relay_logins_total{protocol=\"imap\",outcome=\"denied\"} 1\n"));
  CHECK(contains(text, "xoauth2_relay_bytes_total{protocol=\"smtp\",direction=\"in\"} 5242880\n"));
  // Declared families without samples still announce themselves.
  CHECK(contains(text, "# TYPE xoauth2_relay_config_reloads_total counter\n"));
}

TEST_CASE("gauges: set, move by deltas, replace a whole family") {
  Metrics m;
  m.add("xoauth2_relay_sessions_active", {{"protocol", "imap"}, {"listener", "imap:0.0.0.0:993"}});
  m.add("xoauth2_relay_sessions_active", {{"protocol", "imap"}, {"listener", "imap:0.0.0.0:993"}}, -1);
  CHECK(contains(m.render(), "xoauth2_relay_sessions_active{protocol=\"imap\",listener=\"imap:0.0.0.0:993\"} 0\n"));
  m.set("xoauth2_relay_token_expiry_seconds", {{"tenant", "contoso"}}, 3599.5);
  CHECK(contains(m.render(), "xoauth2_relay_token_expiry_seconds{tenant=\"contoso\"} 3599.5\n"));
  m.replace("xoauth2_relay_mailbox_waiting", {{{{"mailbox", "a@contoso.com"}}, 2}, {{{"mailbox", "b@contoso.com"}}, 1}});
  m.replace("xoauth2_relay_mailbox_waiting", {{{{"mailbox", "b@contoso.com"}}, 3}});
  auto text = m.render();
  CHECK_FALSE(contains(text, "a@contoso.com"));
  CHECK(contains(text, "xoauth2_relay_mailbox_waiting{mailbox=\"b@contoso.com\"} 3\n"));
}

TEST_CASE("label values are escaped; undeclared families are a programming error") {
  Metrics m;
  m.add("xoauth2_relay_token_requests_total", {{"tenant", "a\"b\\c\nd"}, {"outcome", "ok"}});
  CHECK(contains(m.render(), "{tenant=\"a\\\"b\\\\c\\nd\",outcome=\"ok\"} 1\n"));
  CHECK_THROWS_AS(m.add("xoauth2_relay_typo_total", {}), std::logic_error);
}
