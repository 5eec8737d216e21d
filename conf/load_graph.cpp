// A Microsoft tenant's `smtp: {via: graph}` and `graph:` block: messages
// leave through Graph sendMail instead of SMTP AUTH (for tenants that switch
// SMTP AUTH off). Read after the tenant's provider, which decides whether
// Graph is possible at all.
#include "conf/loader.hpp"

namespace xr::conf {
namespace {

using LargeMessages = GraphSettings::LargeMessages;

// `endpoint` is Graph's origin only: the relay appends /v1.0/users/... itself,
// so a path (often /v1.0 pasted from the docs) would double it. The bearer
// token goes to this host: never over plain HTTP.
std::optional<std::string> endpoint_problem(const std::string& v) {
  if (v.rfind("https://", 0) != 0 || v.size() <= 8 || v.find_first_of(" \t") != std::string::npos)
    return "`" + v + "` is not an https:// URL; Graph requests carry the bearer token, so write the https origin, "
                     "e.g. https://graph.microsoft.com (national clouds: https://graph.microsoft.us, "
                     "https://microsoftgraph.chinacloudapi.cn)";
  const std::size_t host_end = v.find_first_of("/?#", 8);
  if (host_end == std::string::npos) return std::nullopt;
  std::string rest = v.substr(host_end);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.empty()) return std::nullopt;  // a trailing slash is harmless
  return "`" + v + "` has a path (" + rest + "); endpoint is only Graph's origin (scheme://host[:port]): the relay "
         "adds /v1.0/users/{mailbox}/sendMail itself; write endpoint: " + v.substr(0, host_end);
}

void read_endpoint_url(LoadContext& ctx, const Entry& e, GraphSettings& g) {
  auto v = read_string(ctx.diag, e);
  if (!v) return;
  if (auto why = endpoint_problem(*v)) {
    ctx.diag.add(e.mark(), e.path, *why);
    return;
  }
  while (v->back() == '/') v->pop_back();
  g.endpoint = *v;
}

void read_graph_block(LoadContext& ctx, const Entry& e, GraphSettings& g) {
  MapReader m(ctx.diag, e, {"endpoint", "scope", "max_concurrent_per_mailbox", "large_messages"});
  if (!m.is_map()) return;
  if (auto f = m.get("endpoint")) read_endpoint_url(ctx, *f, g);
  if (auto f = m.get("scope")) {
    if (auto v = read_string(ctx.diag, *f)) {
      // The client-credentials flow only issues tokens for "<resource>/.default".
      if (v->size() < 9 || v->substr(v->size() - 9) != "/.default")
        ctx.diag.add(f->mark(), f->path, "app-only tokens need a scope ending in /.default, e.g. "
                                         "https://graph.microsoft.com/.default");
      else
        g.scope = *v;
    }
  }
  if (auto f = m.get("max_concurrent_per_mailbox"))
    if (auto v = read_uint(ctx.diag, *f, 1, 100)) {
      g.max_concurrent_per_mailbox = static_cast<std::size_t>(*v);
      // Graph allows 4 requests in flight per app and mailbox; more only
      // earn 429s (and the retries they cost).
      if (*v > 4)
        ctx.diag.warn(f->mark(), f->path, "Graph allows 4 concurrent requests per app and mailbox; above that "
                                          "the extra requests are throttled (429): write 4 or less");
    }
  if (auto f = m.get("large_messages")) {
    auto v = read_enum<LargeMessages>(ctx.diag, *f, {{"refuse", LargeMessages::refuse}, {"upload", LargeMessages::upload}});
    // The upload session (draft + attachments, Mail.ReadWrite) is not built
    // yet; accepting the word would promise large mail that never leaves.
    if (v == LargeMessages::upload)
      ctx.diag.add(f->mark(), f->path, "large_messages: upload is not available in this version; remove it (or "
                                       "write refuse): messages above Graph's request limit (about 3 MB) are "
                                       "refused with 552 5.3.4");
    else if (v)
      g.large_messages = *v;
  }
}

// A national cloud's Graph only takes tokens for its own resource: an
// endpoint moved to https://graph.microsoft.us with the default scope left
// in place gets tokens Graph answers with 401, at every message.
void warn_national_cloud_scope(LoadContext& ctx, const Entry& graph, const GraphSettings& g) {
  static const char* const kClouds[] = {"https://graph.microsoft.us", "https://dod-graph.microsoft.us",
                                        "https://microsoftgraph.chinacloudapi.cn"};
  if (g.scope != GraphSettings{}.scope) return;
  for (const char* cloud : kClouds)
    if (g.endpoint == cloud)
      ctx.diag.warn(graph.key_mark, graph.path,
                    "endpoint is " + g.endpoint + " but scope is still the global cloud's; write scope: " +
                        g.endpoint + "/.default");
}

}  // namespace

void read_graph(LoadContext& ctx, const MapReader& tenant, const std::optional<Entry>& via, Tenant& t) {
  if (via)
    if (auto v = read_enum<SmtpVia>(ctx.diag, *via, {{"smtp", SmtpVia::smtp}, {"graph", SmtpVia::graph}}))
      t.smtp_via = *v;
  auto graph = tenant.get("graph");
  if (t.provider != Provider::microsoft) {
    // Graph sendMail is Microsoft's; Google tenants send over SMTP XOAUTH2.
    if (via && t.smtp_via == SmtpVia::graph)
      ctx.diag.add(via->mark(), via->path, "via: graph is for Microsoft tenants only (Graph sendMail); a "
                                           "provider: google tenant sends over SMTP: remove via");
    if (graph)
      ctx.diag.add(graph->key_mark, graph->path, "graph: is for Microsoft tenants only; remove it from this "
                                                 "provider: google tenant");
    t.smtp_via = SmtpVia::smtp;
    return;
  }
  if (graph) {
    read_graph_block(ctx, *graph, t.graph);
    warn_national_cloud_scope(ctx, *graph, t.graph);
    if (t.smtp_via != SmtpVia::graph)
      ctx.diag.warn(graph->key_mark, graph->path, "graph: is used only when the tenant sends through Graph; add "
                                                  "via: graph under smtp: (smtp: {via: graph}) or remove graph:");
  }
}

}  // namespace xr::conf
