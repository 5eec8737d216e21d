#include "auth/password.hpp"

#include "conf_test_support.hpp"

#include <doctest/doctest.h>

#include <crypt.h>

#include <cstdlib>

using xr::auth::hash_is_valid;
using xr::auth::hash_password;
using xr::auth::verify_password;
using xr::conf::test::kHash;

TEST_CASE("hash_password makes a fresh yescrypt hash that verifies") {
  std::string h1 = hash_password("s3cret pass");
  std::string h2 = hash_password("s3cret pass");
  CHECK(h1.rfind("$y$", 0) == 0);
  CHECK(h1 != h2);  // a new random salt each time
  CHECK(h1.find("s3cret") == std::string::npos);
  CHECK(verify_password("s3cret pass", h1));
  CHECK(verify_password("s3cret pass", h2));
  CHECK_FALSE(verify_password("s3cret pas", h1));
  CHECK_FALSE(verify_password("s3cret passs", h1));
  CHECK_FALSE(verify_password("", h1));
  CHECK(hash_is_valid(h1));
}

TEST_CASE("the documented example hash is of \"change-me\"") {
  CHECK(verify_password("change-me", kHash));
  CHECK_FALSE(verify_password("Change-me", kHash));
}

TEST_CASE("verify_password is false, never an exception, for unusable hashes and input") {
  CHECK_FALSE(verify_password("change-me", ""));
  CHECK_FALSE(verify_password("change-me", "*"));
  CHECK_FALSE(verify_password("change-me", "!"));
  CHECK_FALSE(verify_password("change-me", "$y$j9T$"));
  CHECK_FALSE(verify_password("change-me", kHash.substr(0, kHash.size() - 1)));
  CHECK_FALSE(verify_password("change-me", kHash + "x"));
  // crypt(3) would stop at the NUL and compare only "change-me".
  CHECK_FALSE(verify_password(std::string_view("change-me\0tail", 14), kHash));
  CHECK_THROWS_AS(hash_password(std::string_view("a\0b", 3)), std::runtime_error);
}

TEST_CASE("an empty password can be hashed and verified (rejecting it is the caller's policy)") {
  std::string h = hash_password("");
  CHECK(verify_password("", h));
  CHECK_FALSE(verify_password("x", h));
}

TEST_CASE("other strong methods libxcrypt enables (sha512crypt, bcrypt) are accepted") {
  for (const char* prefix : {"$6$", "$2b$"}) {
    INFO(prefix);
    char* setting = crypt_gensalt_ra(prefix, 0, nullptr, 0);
    REQUIRE(setting != nullptr);
    crypt_data data{};
    const char* out = crypt_rn("change-me", setting, &data, sizeof data);
    std::free(setting);
    REQUIRE(out != nullptr);
    std::string hash = out;
    CHECK(hash_is_valid(hash));
    CHECK(verify_password("change-me", hash));
    CHECK_FALSE(verify_password("change-mE", hash));
  }
  // A setting without the hash part is not a hash.
  CHECK_FALSE(hash_is_valid("$6$abcdefgh$"));
}

TEST_CASE("hash_is_valid explains what is wrong and how to fix it") {
  std::string why;
  CHECK(hash_is_valid(kHash, &why));

  CHECK_FALSE(hash_is_valid("", &why));
  CHECK(why.find("empty") != std::string::npos);
  CHECK(why.find("xoauth2-relay hash-password") != std::string::npos);

  CHECK_FALSE(hash_is_valid("!", &why));
  CHECK(why.find("not a crypt(3) hash") != std::string::npos);
  CHECK(why.find("xoauth2-relay hash-password") != std::string::npos);

  // MD5-crypt and traditional DES: legacy, refused.
  CHECK_FALSE(hash_is_valid("$1$abcdefgh$yJXAoFMEQqTjtC3ZY9Y6d/", &why));
  CHECK(why.find("legacy") != std::string::npos);
  CHECK(why.find("xoauth2-relay hash-password") != std::string::npos);
  CHECK_FALSE(hash_is_valid("abJnggxhB/yWI", &why));
  CHECK(why.find("legacy") != std::string::npos);

  // Truncated (as when a shell ate part of an unquoted "$..." string) or padded.
  CHECK_FALSE(hash_is_valid(kHash.substr(0, kHash.size() - 3), &why));
  CHECK(why.find("truncated") != std::string::npos);
  CHECK_FALSE(hash_is_valid("$y$j9T$GU15flNw9WimW3d3kPPrI1", &why));
  CHECK(why.find("truncated") != std::string::npos);
  CHECK_FALSE(hash_is_valid(kHash + "A", &why));

  // Malformed parameters.
  CHECK_FALSE(hash_is_valid("$y$jXXXX$abc$", &why));
  CHECK(why.find("xoauth2-relay hash-password") != std::string::npos);

  // A character crypt never emits, same length.
  std::string bad = kHash;
  bad.back() = '!';
  CHECK_FALSE(hash_is_valid(bad, &why));

  // The explanation is optional.
  CHECK_FALSE(hash_is_valid("nope"));
}
