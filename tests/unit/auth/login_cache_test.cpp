#include "auth/login_cache.hpp"

#include <doctest/doctest.h>

#include <thread>

using xr::auth::LoginCache;
using namespace std::chrono_literals;

TEST_CASE("a remembered login is found; anything different is not") {
  LoginCache c(300s);
  CHECK_FALSE(c.check("scanner01", "pw", "$y$hash"));
  c.remember("scanner01", "pw", "$y$hash");
  CHECK(c.check("scanner01", "pw", "$y$hash"));
  CHECK_FALSE(c.check("scanner01", "pw2", "$y$hash"));
  CHECK_FALSE(c.check("scanner02", "pw", "$y$hash"));
  CHECK_FALSE(c.check("scanner01", "pw", "$y$newhash"));  // the admin changed the password
  // Field boundaries matter: ("scanner0", "1pw") is another login.
  CHECK_FALSE(c.check("scanner0", "1pw", "$y$hash"));
}

TEST_CASE("entries expire after the TTL") {
  LoginCache c(1s);
  c.remember("u", "p", "h");
  CHECK(c.check("u", "p", "h"));
  std::this_thread::sleep_for(1100ms);
  CHECK_FALSE(c.check("u", "p", "h"));
}

TEST_CASE("a TTL of 0 disables the cache; flush forgets everything") {
  LoginCache off(0s);
  off.remember("u", "p", "h");
  CHECK_FALSE(off.check("u", "p", "h"));

  LoginCache c(300s);
  c.remember("u", "p", "h");
  c.flush();
  CHECK_FALSE(c.check("u", "p", "h"));
  c.remember("u", "p", "h");
  c.set_ttl(0s);
  CHECK_FALSE(c.check("u", "p", "h"));
}

TEST_CASE("a full cache stops remembering instead of growing") {
  LoginCache c(300s, 2);
  c.remember("a", "p", "h");
  c.remember("b", "p", "h");
  c.remember("c", "p", "h");
  CHECK(c.check("a", "p", "h"));
  CHECK(c.check("b", "p", "h"));
  CHECK_FALSE(c.check("c", "p", "h"));
}

TEST_CASE("two caches (two processes) do not share keys") {
  // Not observable through the API except that each works independently.
  LoginCache a(300s), b(300s);
  a.remember("u", "p", "h");
  CHECK(a.check("u", "p", "h"));
  CHECK_FALSE(b.check("u", "p", "h"));
}
