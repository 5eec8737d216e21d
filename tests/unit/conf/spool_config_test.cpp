// Store and forward (issue 12): `spool:`, `delivery:` on users and no_auth
// rules, and `max_messages_per_minute` on a tenant's smtp endpoint.
#include "conf_test_support.hpp"

using namespace std::chrono_literals;
using namespace xr::conf;
using namespace xr::conf::test;

namespace {

// base_tenant (5 lines) + base_listener (3) + base_user (5): what follows
// starts on line 14.
std::string base() { return base_tenant() + base_listener() + base_user(); }

void check_defaults(const Spool& s) {
  CHECK(s.dir == "/var/spool/xoauth2-relay");
  CHECK(s.max_size == 2ULL << 30);
  CHECK(s.min_free == 512ULL << 20);
  CHECK(s.max_age == 5 * 24h);
  CHECK(s.retry_schedule == std::vector<std::chrono::seconds>{1min, 2min, 5min, 10min, 30min, 1h});
  CHECK_FALSE(s.bounce_to.has_value());
}

}  // namespace

TEST_CASE("spool: off unless written or asked for; delivery defaults to direct") {
  Fixture f;
  auto r = f.load(base() + "no_auth:\n  - {sources: [\"10.0.0.1\"], tenant: contoso, mailbox: mfp@contoso.com}\n");
  XR_INFO_ERRORS(r);
  REQUIRE(r.config);
  CHECK_FALSE(r.config->spool.has_value());
  CHECK(r.config->users.at("scanner01").delivery == Delivery::direct);
  CHECK(r.config->no_auth.at(0).delivery == Delivery::direct);
  CHECK(r.config->tenants.at("contoso").smtp.max_messages_per_minute == 30);
  CHECK(std::string(to_string(Delivery::direct)) == "direct");
  CHECK(std::string(to_string(Delivery::spool)) == "spool");
}

TEST_CASE("spool: an empty section means every default") {
  Fixture f;
  for (const char* section : {"spool:\n", "spool: {}\n", "spool: null\n", "spool: ~\n"}) {
    CAPTURE(section);
    auto r = f.load(base() + section);
    XR_INFO_ERRORS(r);
    REQUIRE(r.config);
    REQUIRE(r.config->spool.has_value());
    check_defaults(*r.config->spool);
  }
}

TEST_CASE("spool: every key") {
  Fixture f;
  auto r = f.load(base() + yaml(R"(
spool:
  dir: queue
  max_size: 100M
  min_free: 0
  max_age: 2d
  retry_schedule: [1s, 30s, 1h, 1d]
  bounce_to: helpdesk@contoso.com
)"));
  XR_INFO_ERRORS(r);
  REQUIRE(r.config);
  REQUIRE(r.config->spool.has_value());
  const Spool& s = *r.config->spool;
  CHECK(s.dir == f.abs("queue"));  // relative to the config file's directory
  CHECK(s.max_size == 100ULL << 20);
  CHECK(s.min_free == 0);
  CHECK(s.max_age == 48h);
  CHECK(s.retry_schedule == std::vector<std::chrono::seconds>{1s, 30s, 1h, 24h});
  CHECK(s.bounce_to == "helpdesk@contoso.com");
}

TEST_CASE("spool: keys left out keep their defaults; absolute dir as written; bounce_to null") {
  Fixture f;
  auto r = f.load(base() + "spool:\n  dir: /srv/queue\n  max_age: 12h\n  bounce_to: null\n");
  XR_INFO_ERRORS(r);
  REQUIRE(r.config);
  REQUIRE(r.config->spool.has_value());
  const Spool& s = *r.config->spool;
  CHECK(s.dir == "/srv/queue");
  CHECK(s.max_age == 12h);
  CHECK(s.max_size == 2ULL << 30);
  CHECK(s.min_free == 512ULL << 20);
  CHECK(s.retry_schedule.size() == 6);
  CHECK_FALSE(s.bounce_to.has_value());
}

TEST_CASE("spool: days in durations wherever durations are read") {
  Fixture f;
  auto r = f.load(base() + "limits:\n  splice_idle_timeout: 1d\nspool:\n  max_age: 7d\n  retry_schedule: [1h, 1d]\n");
  XR_INFO_ERRORS(r);
  REQUIRE(r.config);
  CHECK(r.config->limits.splice_idle_timeout == 24h);
  CHECK(r.config->spool->max_age == 7 * 24h);
  CHECK(r.config->spool->retry_schedule.back() == 24h);
}

TEST_CASE("delivery: spool on a user or a no_auth rule turns the spool on with its defaults") {
  Fixture f;
  auto user = f.load(base() + "    delivery: spool\n");
  XR_INFO_ERRORS(user);
  REQUIRE(user.config);
  CHECK(user.config->users.at("scanner01").delivery == Delivery::spool);
  REQUIRE(user.config->spool.has_value());
  check_defaults(*user.config->spool);

  auto rule = f.load(base() + yaml(R"(
no_auth:
  - sources: ["192.168.20.5"]
    tenant: contoso
    mailbox: mfp@contoso.com
    delivery: spool
)"));
  XR_INFO_ERRORS(rule);
  REQUIRE(rule.config);
  CHECK(rule.config->no_auth.at(0).delivery == Delivery::spool);
  REQUIRE(rule.config->spool.has_value());
  check_defaults(*rule.config->spool);

  // A written section wins over the defaults, wherever it stands in the file.
  auto both = f.load("spool:\n  max_age: 1d\n" + base() + "    delivery: spool\n");
  XR_INFO_ERRORS(both);
  REQUIRE(both.config);
  CHECK(both.config->spool->max_age == 24h);

  auto direct = f.load(base() + "    delivery: direct\n");
  XR_INFO_ERRORS(direct);
  REQUIRE(direct.config);
  CHECK(direct.config->users.at("scanner01").delivery == Delivery::direct);
  CHECK_FALSE(direct.config->spool.has_value());
}

TEST_CASE("delivery: errors") {
  Fixture f;
  auto typo = f.load(base() + "    delivery: spol\n");
  auto msg = expect_error(typo, "users.scanner01.delivery", 14, 15);
  CHECK(contains(msg, "`spol` is not one of direct | spool"));
  CHECK(contains(msg, "spool"));

  auto rule = f.load(base() + "no_auth:\n  - {sources: [\"10.0.0.1\"], tenant: contoso, mailbox: m@contoso.com, "
                              "delivery: queue}\n");
  CHECK(contains(expect_error(rule, "no_auth[0].delivery", 15, 80), "is not one of direct | spool"));

  auto imap_only = f.load(base() + "    protocols: [imap]\n    delivery: spool\n");
  CHECK(expect_error(imap_only, "users.scanner01.delivery", 15, 15) ==
        "delivery applies to SMTP; this user's protocols do not include smtp, so add smtp to protocols or remove "
        "delivery");
  // `delivery: direct` is harmless on an IMAP-only user.
  auto direct = f.load(base() + "    protocols: [imap]\n    delivery: direct\n");
  XR_INFO_ERRORS(direct);
  CHECK(direct.config.has_value());
  // An empty protocols list is its own error; delivery adds none.
  auto empty = f.load(base() + "    protocols: []\n    delivery: spool\n");
  CHECK_FALSE(empty.config.has_value());
  CHECK(error_for(empty, "users.scanner01.delivery") == nullptr);
}

TEST_CASE("spool: errors name the place and the fix") {
  Fixture f;
  auto not_map = f.load(base() + "spool: [dir]\n");
  CHECK(contains(expect_error(not_map, "spool", 14, 8), "expected a mapping"));

  auto typo = f.load(base() + "spool:\n  max_sise: 1G\n");
  CHECK(expect_error(typo, "spool.max_sise", 15, 3) == "unknown key `max_sise`; did you mean `max_size`?");

  auto top = f.load(base() + "spoll:\n  max_size: 1G\n");
  CHECK(contains(expect_error(top, "spoll", 14, 1), "did you mean `spool`?"));

  auto small = f.load(base() + "spool:\n  max_size: 512K\n");
  CHECK(expect_error(small, "spool.max_size", 15, 13) ==
        "must be at least 1M (one scan is often several MB); the default is 2G");

  auto not_size = f.load(base() + "spool:\n  min_free: lots\n");
  CHECK(contains(expect_error(not_size, "spool.min_free", 15, 13), "expected a size such as"));

  auto young = f.load(base() + "spool:\n  max_age: 30s\n");
  CHECK(contains(expect_error(young, "spool.max_age", 15, 12), "must be at least 1m"));

  auto week = f.load(base() + "spool:\n  max_age: 1w\n");
  CHECK(contains(expect_error(week, "spool.max_age", 15, 12), "\"5d\""));

  auto no_dir = f.load(base() + "spool:\n  dir: \"\"\n");
  CHECK(expect_error(no_dir, "spool.dir", 15, 8) == "must not be empty");

  auto bad_bounce = f.load(base() + "spool:\n  bounce_to: helpdesk\n");
  auto msg = expect_error(bad_bounce, "spool.bounce_to", 15, 14);
  CHECK(contains(msg, "`helpdesk` is not a mailbox address"));
  CHECK(contains(msg, "or write null to bounce to the envelope sender"));
}

TEST_CASE("spool: retry_schedule errors") {
  Fixture f;
  auto empty = f.load(base() + "spool:\n  retry_schedule: []\n");
  CHECK(contains(expect_error(empty, "spool.retry_schedule", 15, 19), "an empty schedule never retries"));

  auto scalar = f.load(base() + "spool:\n  retry_schedule: 5m\n");
  CHECK(contains(expect_error(scalar, "spool.retry_schedule", 15, 19), "expected a list such as [1m, 2m"));

  // Each step: a duration, at least 1s, at most max_age (a longer one would
  // never run). Every bad step is reported, in file order.
  auto steps = f.load(base() + "spool:\n  max_age: 1h\n  retry_schedule: [1m, 0, 2h, soon]\n");
  CHECK(contains(expect_error(steps, "spool.retry_schedule[1]", 16, 24), "must be at least 1s"));
  CHECK(expect_error(steps, "spool.retry_schedule[2]", 16, 27) ==
        "`2h` is longer than max_age (1h), so this retry would never run; shorten it or raise max_age");
  CHECK(contains(expect_error(steps, "spool.retry_schedule[3]", 16, 31), "expected a duration"));
  REQUIRE(steps.errors.size() == 3);
  CHECK(steps.errors[0].key == "spool.retry_schedule[1]");
  CHECK(steps.errors[2].key == "spool.retry_schedule[3]");

  // Against the default max_age (5d) when none is written.
  auto long_step = f.load(base() + "spool:\n  retry_schedule: [1m, 6d]\n");
  CHECK(contains(expect_error(long_step, "spool.retry_schedule[1]", 15, 24), "longer than max_age (5d)"));
}

TEST_CASE("spool errors keep file order with the rest of the file") {
  Fixture f;
  auto r = f.load("spool:\n  max_size: 1K\n" + base() + "    delivery: nope\n");
  XR_INFO_ERRORS(r);
  REQUIRE(r.errors.size() == 2);
  CHECK(r.errors[0].key == "spool.max_size");
  CHECK(r.errors[0].line == 2);
  CHECK(r.errors[1].key == "users.scanner01.delivery");
  CHECK(r.errors[1].line == 16);
}

TEST_CASE("max_messages_per_minute: smtp only, 1..100000") {
  Fixture f;
  const std::string tenant = base_tenant();  // 5 lines
  auto ok = f.load(tenant + "    smtp:\n      max_messages_per_minute: 10\n" + base_listener() + base_user());
  XR_INFO_ERRORS(ok);
  REQUIRE(ok.config);
  const auto& t = ok.config->tenants.at("contoso");
  CHECK(t.smtp.max_messages_per_minute == 10);
  CHECK(t.smtp.host == "smtp.office365.com");  // a partial map keeps the other defaults
  CHECK(t.smtp.max_connections_per_mailbox == 3);

  auto flow = f.load(tenant + "    smtp: {port: 587, max_messages_per_minute: 100000}\n" + base_listener() + base_user());
  XR_INFO_ERRORS(flow);
  REQUIRE(flow.config);
  CHECK(flow.config->tenants.at("contoso").smtp.max_messages_per_minute == 100000);

  for (const char* bad : {"0", "100001", "-1", "fast"}) {
    CAPTURE(bad);
    auto r = f.load(tenant + "    smtp:\n      max_messages_per_minute: " + bad + "\n" + base_listener());
    CHECK(contains(expect_error(r, "tenants.contoso.smtp.max_messages_per_minute", 7, 32), "from 1 to 100000"));
  }

  for (const char* proto : {"imap", "pop3"}) {
    CAPTURE(proto);
    auto r = f.load(tenant + "    " + proto + ":\n      max_messages_per_minute: 10\n" + base_listener());
    CHECK(expect_error(r, std::string("tenants.contoso.") + proto + ".max_messages_per_minute", 7, 7) ==
          std::string("max_messages_per_minute applies to smtp only (it paces the spool's deliveries); move it "
                      "under smtp: or remove it from ") + proto + ":");
  }
}
