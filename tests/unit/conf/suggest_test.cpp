#include "conf/suggest.hpp"

#include <doctest/doctest.h>

using xr::conf::did_you_mean;
using xr::conf::edit_distance;
using xr::conf::suggest;

TEST_CASE("edit distance") {
  CHECK(edit_distance("", "") == 0);
  CHECK(edit_distance("abc", "") == 3);
  CHECK(edit_distance("tenantid", "tenant_id") == 1);
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(edit_distance("debgu", "debug") == 2);
}

TEST_CASE("suggestions: close spellings and prefixes, nothing for unrelated words") {
  std::vector<std::string> keys = {"tenant_id", "client_id", "client_secret_file", "client_secret_env"};
  CHECK(suggest("tenantid", keys) == "tenant_id");
  CHECK(suggest("clientid", keys) == "client_id");
  CHECK(suggest("Tenant_ID", keys) == "tenant_id");
  CHECK(suggest("client_secret", keys) == "client_secret_file");  // prefix; ties go to the first
  CHECK(suggest("client_secret_envv", keys) == "client_secret_env");
  CHECK_FALSE(suggest("password", keys).has_value());
  CHECK_FALSE(suggest("cl", keys).has_value());  // too short to be a prefix hint
  CHECK(did_you_mean("debgu", {"error", "warn", "info", "debug"}) == " (did you mean `debug`?)");
  CHECK(did_you_mean("verbose", {"error", "warn", "info", "debug"}).empty());
}
