#include "auth/access_policy.hpp"
#include "auth/password.hpp"

#include <doctest/doctest.h>

using namespace xr;
using namespace xr::auth;
using namespace std::chrono_literals;

namespace {

conf::IpAddress ip(const char* text) { return *conf::IpAddress::parse(text); }
conf::Cidr net(const char* text) { return *conf::Cidr::parse(text); }

// One hash for the whole file: yescrypt is slow on purpose.
const std::string& scanner_hash() {
  static const std::string h = hash_password("right password");
  return h;
}

conf::Config config() {
  conf::Config cfg;
  conf::User u;
  u.name = "scanner01";
  u.password_hash = scanner_hash();
  u.tenant = "contoso";
  u.mailbox = "scanner@contoso.com";
  u.protocols = {conf::Protocol::smtp};
  u.sources = {net("192.168.10.0/24"), net("fd00::/64")};
  u.senders = {"scanner@contoso.com"};
  cfg.users.emplace(u.name, u);
  conf::NoAuthRule r;
  r.sources = {net("10.1.0.0/16")};
  r.tenant = "contoso";
  r.mailbox = "mfp@contoso.com";
  r.senders = {"*@contoso.com"};
  cfg.no_auth.push_back(r);
  return cfg;
}

}  // namespace

TEST_CASE("the right password from an allowed network is granted, then cached") {
  auto cfg = config();
  LoginCache cache(300s);
  auto d = check_login(cfg, cache, "scanner01", "right password", ip("192.168.10.7"), conf::Protocol::smtp);
  REQUIRE(d.grant);
  CHECK(d.failure == LoginFailure::none);
  CHECK_FALSE(d.cached);
  CHECK(d.grant->user == "scanner01");
  CHECK(d.grant->tenant == "contoso");
  CHECK(d.grant->mailbox == "scanner@contoso.com");
  CHECK(d.grant->senders == std::vector<std::string>{"scanner@contoso.com"});

  auto again = check_login(cfg, cache, "scanner01", "right password", ip("fd00::9"), conf::Protocol::smtp);
  CHECK(again.grant);
  CHECK(again.cached);
}

TEST_CASE("every refusal names its reason") {
  auto cfg = config();
  LoginCache cache(300s);
  auto check = [&](const char* user, const char* pw, const char* from, conf::Protocol p) {
    auto d = check_login(cfg, cache, user, pw, ip(from), p);
    CHECK_FALSE(d.grant);
    return d.failure;
  };
  CHECK(check("nobody", "right password", "192.168.10.7", conf::Protocol::smtp) == LoginFailure::unknown_user);
  CHECK(check("scanner01", "wrong", "192.168.10.7", conf::Protocol::smtp) == LoginFailure::bad_password);
  CHECK(check("scanner01", "", "192.168.10.7", conf::Protocol::smtp) == LoginFailure::bad_password);
  CHECK(check("SCANNER01", "right password", "192.168.10.7", conf::Protocol::smtp) == LoginFailure::unknown_user);
  CHECK(check("scanner01", "right password", "192.168.11.7", conf::Protocol::smtp) ==
        LoginFailure::source_not_allowed);
  CHECK(check("scanner01", "right password", "192.168.10.7", conf::Protocol::imap) ==
        LoginFailure::protocol_not_allowed);
  CHECK(std::string(to_string(LoginFailure::source_not_allowed)) == "source_not_allowed");
}

TEST_CASE("a cached login is still held to the source and protocol rules") {
  auto cfg = config();
  LoginCache cache(300s);
  REQUIRE(check_login(cfg, cache, "scanner01", "right password", ip("192.168.10.7"), conf::Protocol::smtp).grant);
  auto d = check_login(cfg, cache, "scanner01", "right password", ip("172.16.0.1"), conf::Protocol::smtp);
  CHECK(d.failure == LoginFailure::source_not_allowed);
}

TEST_CASE("check_login_cached answers only what the cache remembers, never running crypt(3)") {
  auto cfg = config();
  LoginCache cache(300s);
  const auto from = ip("192.168.10.7");
  // Nothing remembered yet: unknown users, wrong and right passwords all go
  // to check_login() (the pool), which alone runs crypt(3).
  CHECK_FALSE(check_login_cached(cfg, cache, "nobody", "right password", from, conf::Protocol::smtp));
  CHECK_FALSE(check_login_cached(cfg, cache, "scanner01", "wrong", from, conf::Protocol::smtp));
  CHECK_FALSE(check_login_cached(cfg, cache, "scanner01", "right password", from, conf::Protocol::smtp));
  REQUIRE(check_login(cfg, cache, "scanner01", "right password", from, conf::Protocol::smtp).grant);

  auto d = check_login_cached(cfg, cache, "scanner01", "right password", from, conf::Protocol::smtp);
  REQUIRE(d);
  CHECK(d->cached);
  REQUIRE(d->grant);
  CHECK(d->grant->mailbox == "scanner@contoso.com");
  // A remembered password is still held to the rules, and a wrong one is
  // never answered from the cache.
  auto elsewhere = check_login_cached(cfg, cache, "scanner01", "right password", ip("172.16.0.1"), conf::Protocol::smtp);
  REQUIRE(elsewhere);
  CHECK(elsewhere->failure == LoginFailure::source_not_allowed);
  auto imap = check_login_cached(cfg, cache, "scanner01", "right password", from, conf::Protocol::imap);
  REQUIRE(imap);
  CHECK(imap->failure == LoginFailure::protocol_not_allowed);
  CHECK_FALSE(check_login_cached(cfg, cache, "scanner01", "wrong", from, conf::Protocol::smtp));
  // A changed hash (a reload) or a flushed cache: back to the pool.
  cache.flush();
  CHECK_FALSE(check_login_cached(cfg, cache, "scanner01", "right password", from, conf::Protocol::smtp));
}

TEST_CASE("IPv4 clients arriving mapped on a dual-stack socket match IPv4 rules") {
  auto cfg = config();
  LoginCache cache(300s);
  CHECK(check_login(cfg, cache, "scanner01", "right password", ip("::ffff:192.168.10.7"), conf::Protocol::smtp).grant);
}

TEST_CASE("no_auth rules admit by source") {
  auto cfg = config();
  auto g = match_no_auth(cfg, ip("10.1.2.3"));
  REQUIRE(g);
  CHECK(g->user.empty());
  CHECK(g->mailbox == "mfp@contoso.com");
  CHECK_FALSE(match_no_auth(cfg, ip("10.2.0.1")));
  CHECK_FALSE(match_no_auth(cfg, ip("192.168.10.7")));
}

TEST_CASE("sender patterns: exact addresses and *@domain, case-insensitive; never the null sender") {
  std::vector<std::string> p{"scanner@contoso.com", "*@fabrikam.com"};
  CHECK(sender_allowed(p, "scanner@contoso.com"));
  CHECK(sender_allowed(p, "Scanner@Contoso.COM"));
  CHECK(sender_allowed(p, "anyone@fabrikam.com"));
  CHECK(sender_allowed(p, "x@FABRIKAM.com"));
  CHECK_FALSE(sender_allowed(p, "other@contoso.com"));
  CHECK_FALSE(sender_allowed(p, "x@sub.fabrikam.com"));
  CHECK_FALSE(sender_allowed(p, "x@fabrikam.com.evil"));
  CHECK_FALSE(sender_allowed(p, "@fabrikam.com"));
  CHECK_FALSE(sender_allowed(p, ""));
  CHECK_FALSE(sender_allowed({}, "scanner@contoso.com"));
}
