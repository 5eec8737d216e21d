// Shared by the conf tests: a temporary directory holding the files a config
// refers to, and helpers to look at load results.
#pragma once

#include "conf/config.hpp"
#include "tests/unit/temp_dir.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace xr::conf::test {

// A yescrypt hash of "change-me" (the documented example password).
inline const std::string kHash = "$y$j9T$GU15flNw9WimW3d3kPPrI1$BSC.Vt3lI7R5hAfagB9XyhKAQcJjhxNUM8Y6NJMDso5";
// The value of secrets/contoso.secret in a Fixture; must never show up in errors.
inline const std::string kSecret = "Sup3r~Secret.Value_42";

using xr::test::TempDir;

// A directory with the files the test configs name: secrets/contoso.secret,
// tls/relay.crt and tls/relay.key. Configs are loaded as <dir>/relay.yaml.
class Fixture : public TempDir {
 public:
  Fixture() {
    write("secrets/contoso.secret", kSecret + "\n");
    write("tls/relay.crt", "-----BEGIN CERTIFICATE-----\n");
    write("tls/relay.key", "-----BEGIN PRIVATE KEY-----\n");
  }
  std::string config_path() const { return abs("relay.yaml"); }
  LoadResult load(const std::string& yaml) const { return load_config_from_string(yaml, config_path()); }
};

// Raw string literals start with a newline for readability; drop it so line
// numbers in tests match the line the text sits on in the literal.
inline std::string yaml(const char* text) {
  std::string s(text);
  if (!s.empty() && s.front() == '\n') s.erase(0, 1);
  return s;
}

inline std::string all_errors(const LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.format() + "\n";
  return out;
}

// The first error for `key`, or nullptr.
inline const ConfigError* error_for(const LoadResult& r, const std::string& key) {
  for (const auto& e : r.errors)
    if (e.key == key) return &e;
  return nullptr;
}

// Checks that loading failed with an error for `key` at line:column, and
// returns its message.
inline std::string expect_error(const LoadResult& r, const std::string& key, int line, int column) {
  INFO(all_errors(r));
  CHECK_FALSE(r.config.has_value());
  const ConfigError* e = error_for(r, key);
  REQUIRE_MESSAGE(e != nullptr, "no error for " << key);
  CHECK(e->line == line);
  CHECK(e->column == column);
  return e->message;
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// A valid tenant + listener + user, 15 lines; tests append or replace parts.
inline std::string base_tenant() {
  return "tenants:\n"
         "  contoso:\n"
         "    tenant_id: 5f3c1a2b-0000-4000-8000-000000000001\n"
         "    client_id: 8a1b2c3d-0000-4000-8000-000000000002\n"
         "    client_secret_file: secrets/contoso.secret\n";
}
inline std::string base_listener() {
  return "listeners:\n"
         "  - listen: \"127.0.0.1:2525\"\n"
         "    tls: none\n";
}
inline std::string base_user() {
  return "users:\n"
         "  scanner01:\n"
         "    password_hash: \"" + kHash + "\"\n"
         "    tenant: contoso\n"
         "    mailbox: scanner@contoso.com\n";
}

}  // namespace xr::conf::test

// Shows every error of a failed load next to a failed check.
#define XR_INFO_ERRORS(r) INFO(::xr::conf::test::all_errors(r))
