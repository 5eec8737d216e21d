// `smtp: {via: graph}` and `graph:`: defaults, each key's checks with their
// place, and the rules tying them to the provider.
#include "tests/unit/conf/conf_test_support.hpp"

using namespace xr::conf;
using namespace xr::conf::test;

namespace {

// base_tenant() is 5 lines: the added lines start at line 6.
std::string tenant_with(const std::string& lines) { return base_tenant() + lines + base_listener(); }

Tenant contoso(const LoadResult& r) {
  XR_INFO_ERRORS(r);
  REQUIRE(r.config.has_value());
  return r.config->tenants.at("contoso");
}

}  // namespace

TEST_CASE("graph: a tenant sends over SMTP unless it says via: graph; Graph's defaults") {
  Fixture f;
  Tenant t = contoso(f.load(tenant_with("")));
  CHECK(t.smtp_via == SmtpVia::smtp);
  CHECK(t.graph.endpoint == "https://graph.microsoft.com");
  CHECK(t.graph.scope == "https://graph.microsoft.com/.default");
  CHECK(t.graph.max_concurrent_per_mailbox == 4);
  CHECK(t.graph.large_messages == GraphSettings::LargeMessages::refuse);

  Tenant g = contoso(f.load(tenant_with("    smtp: {via: graph}\n")));
  CHECK(g.smtp_via == SmtpVia::graph);
  CHECK(g.smtp.host == "smtp.office365.com");  // the rest of smtp: keeps its defaults
  CHECK(contoso(f.load(tenant_with("    smtp: {via: smtp}\n"))).smtp_via == SmtpVia::smtp);
}

TEST_CASE("graph: every key read, endpoint's trailing slash dropped") {
  Fixture f;
  auto r = f.load(tenant_with("    smtp:\n"
                              "      via: graph\n"
                              "      max_connections_per_mailbox: 5\n"
                              "    graph:\n"
                              "      endpoint: https://graph.microsoft.us/\n"
                              "      scope: https://graph.microsoft.us/.default\n"
                              "      max_concurrent_per_mailbox: 2\n"
                              "      large_messages: refuse\n"));
  Tenant t = contoso(r);
  CHECK(t.smtp_via == SmtpVia::graph);
  CHECK(t.smtp.max_connections_per_mailbox == 5);
  CHECK(t.graph.endpoint == "https://graph.microsoft.us");
  CHECK(t.graph.scope == "https://graph.microsoft.us/.default");
  CHECK(t.graph.max_concurrent_per_mailbox == 2);
  CHECK(r.warnings.size() == 1);  // the plain listener's own warning only
  CHECK(contoso(f.load(tenant_with("    smtp: {via: graph}\n    graph: {endpoint: \"https://127.0.0.1:8443\"}\n")))
            .graph.endpoint == "https://127.0.0.1:8443");
}

TEST_CASE("graph: a wrong via names the choices") {
  Fixture f;
  auto msg = expect_error(f.load(tenant_with("    smtp: {via: grahp}\n")), "tenants.contoso.smtp.via", 6, 17);
  CHECK(contains(msg, "graph"));
}

TEST_CASE("graph: via under imap or pop3 is refused with the place it belongs") {
  Fixture f;
  auto msg = expect_error(f.load(tenant_with("    imap: {via: graph}\n")), "tenants.contoso.imap.via", 6, 12);
  CHECK(contains(msg, "smtp only"));
}

TEST_CASE("graph: endpoint must be an https origin") {
  Fixture f;
  auto http = expect_error(f.load(tenant_with("    graph:\n      endpoint: http://graph.microsoft.com\n")),
                           "tenants.contoso.graph.endpoint", 7, 17);
  CHECK(contains(http, "https://graph.microsoft.com"));
  CHECK(contains(http, "bearer token"));
  auto path = expect_error(f.load(tenant_with("    graph:\n      endpoint: https://graph.microsoft.com/v1.0\n")),
                           "tenants.contoso.graph.endpoint", 7, 17);
  CHECK(contains(path, "(/v1.0)"));
  CHECK(contains(path, "write endpoint: https://graph.microsoft.com"));
}

TEST_CASE("graph: scope must end in /.default") {
  Fixture f;
  auto msg = expect_error(f.load(tenant_with("    graph:\n      scope: Mail.Send\n")), "tenants.contoso.graph.scope", 7,
                          14);
  CHECK(contains(msg, "/.default"));
}

TEST_CASE("graph: max_concurrent_per_mailbox is 1..100") {
  Fixture f;
  expect_error(f.load(tenant_with("    graph:\n      max_concurrent_per_mailbox: 0\n")),
               "tenants.contoso.graph.max_concurrent_per_mailbox", 7, 35);
  expect_error(f.load(tenant_with("    graph:\n      max_concurrent_per_mailbox: 101\n")),
               "tenants.contoso.graph.max_concurrent_per_mailbox", 7, 35);
  CHECK(contoso(f.load(tenant_with("    graph:\n      max_concurrent_per_mailbox: 100\n"))).graph
            .max_concurrent_per_mailbox == 100);
}

TEST_CASE("graph: large_messages: upload is refused as not available, saying what happens instead") {
  Fixture f;
  auto msg = expect_error(f.load(tenant_with("    smtp: {via: graph}\n    graph:\n      large_messages: upload\n")),
                          "tenants.contoso.graph.large_messages", 8, 23);
  CHECK(contains(msg, "not available in this version"));
  CHECK(contains(msg, "552 5.3.4"));
  expect_error(f.load(tenant_with("    graph:\n      large_messages: split\n")), "tenants.contoso.graph.large_messages",
               7, 23);
}

TEST_CASE("graph: unknown keys get a did-you-mean") {
  Fixture f;
  auto msg = expect_error(f.load(tenant_with("    graph:\n      endpiont: https://graph.microsoft.com\n")),
                          "tenants.contoso.graph.endpiont", 7, 7);
  CHECK(contains(msg, "did you mean `endpoint`"));
  auto top = expect_error(f.load(tenant_with("    grpah: {}\n")), "tenants.contoso.grpah", 6, 5);
  CHECK(contains(top, "did you mean `graph`"));
}

TEST_CASE("graph: a graph block without via: graph is kept, with a warning") {
  Fixture f;
  auto r = f.load(tenant_with("    graph:\n      max_concurrent_per_mailbox: 3\n"));
  Tenant t = contoso(r);
  CHECK(t.smtp_via == SmtpVia::smtp);
  bool warned = false;
  for (const auto& w : r.warnings)
    if (w.key == "tenants.contoso.graph" && contains(w.message, "via: graph")) warned = true;
  CHECK(warned);
}

TEST_CASE("graph: an error never shows the client secret") {
  Fixture f;
  auto r = f.load(tenant_with("    smtp: {via: nope}\n    graph: {endpoint: http://x, scope: y}\n"));
  CHECK_FALSE(contains(all_errors(r), kSecret));
}

namespace {
bool warned(const LoadResult& r, const std::string& key, const std::string& text) {
  for (const auto& w : r.warnings)
    if (w.key == key && contains(w.message, text)) return true;
  return false;
}
}  // namespace

TEST_CASE("graph: more than Graph's 4 concurrent requests per mailbox is kept, with a warning") {
  Fixture f;
  auto r = f.load(tenant_with("    smtp: {via: graph}\n    graph:\n      max_concurrent_per_mailbox: 8\n"));
  CHECK(contoso(r).graph.max_concurrent_per_mailbox == 8);
  CHECK(warned(r, "tenants.contoso.graph.max_concurrent_per_mailbox", "4 concurrent requests"));
  CHECK_FALSE(warned(f.load(tenant_with("    smtp: {via: graph}\n    graph:\n      max_concurrent_per_mailbox: 4\n")),
                     "tenants.contoso.graph.max_concurrent_per_mailbox", "4 concurrent requests"));
}

TEST_CASE("graph: a national cloud endpoint with the global scope is warned about, naming the scope to write") {
  Fixture f;
  auto r = f.load(tenant_with("    smtp: {via: graph}\n    graph:\n      endpoint: https://graph.microsoft.us\n"));
  CHECK(warned(r, "tenants.contoso.graph", "scope: https://graph.microsoft.us/.default"));
  auto ok = f.load(tenant_with("    smtp: {via: graph}\n    graph:\n      endpoint: https://graph.microsoft.us\n"
                               "      scope: https://graph.microsoft.us/.default\n"));
  CHECK_FALSE(warned(ok, "tenants.contoso.graph", "global cloud"));
}
