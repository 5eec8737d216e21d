#include "auth/token_request.hpp"

#include "auth/aadsts.hpp"
#include "auth/client_assertion.hpp"
#include "auth/google_token.hpp"
#include "auth/proxy_route.hpp"

#include "protocols/secret.hpp"

#include <boost/json.hpp>
#include <openssl/crypto.h>
#include <fmt/format.h>

#include <cstddef>
#include <cstring>

#include <algorithm>
#include <new>
#include <stdexcept>

namespace xr::auth {
namespace {

// JSON values of a token response hold the access token: their memory is
// overwritten before it goes back to the heap.
class WipingResource final : public boost::json::memory_resource {
  // Each block carries its own size in a header: Boost.JSON 1.81 frees some
  // blocks with a different size or alignment than it asked for (found by
  // fuzz_token_response), so neither may be trusted at free time.
  static constexpr std::size_t kHeader = alignof(std::max_align_t);
  void* do_allocate(std::size_t n, std::size_t align) override {
    if (align > kHeader) throw std::bad_alloc();  // Boost.JSON never asks for more
    auto* base = static_cast<unsigned char*>(::operator new(n + kHeader));
    std::memcpy(base, &n, sizeof n);
    return base + kHeader;
  }
  void do_deallocate(void* p, std::size_t, std::size_t) override {
    auto* base = static_cast<unsigned char*>(p) - kHeader;
    std::size_t n = 0;
    std::memcpy(&n, base, sizeof n);
    OPENSSL_cleanse(p, n);
    ::operator delete(base);
  }
  bool do_is_equal(const boost::json::memory_resource& o) const noexcept override { return this == &o; }
};

constexpr std::string_view kAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

bool unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

const boost::json::string* get_string(const boost::json::object& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() ? it->value().if_string() : nullptr;
}

std::string string_field(const boost::json::object& o, const char* key) {
  auto* s = get_string(o, key);
  return s ? std::string(*s) : std::string();
}

// Proxies and load balancers answer with HTML; say so instead of "bad JSON".
TokenError not_json(const HttpResponse& resp) {
  TokenError e;
  e.http_status = resp.status;
  e.summary = fmt::format("token endpoint answered HTTP {} without a JSON body", resp.status);
  e.fix = "check the tenant's authority URL and any proxy between the relay and Entra ID";
  e.transient = resp.status >= 500 || resp.status == 429 || resp.status == 408;
  return e;
}

TokenError explain_error(const HttpResponse& resp, const boost::json::object& body) {
  TokenError e;
  e.http_status = resp.status;
  e.error = string_field(body, "error");
  e.trace_id = string_field(body, "trace_id");
  e.correlation_id = string_field(body, "correlation_id");
  for (char c : string_field(body, "error_description")) {
    if (e.description.size() >= 200) break;
    if (c >= 0x20 && c < 0x7f) e.description += c;  // printable ASCII: a cut never splits a character
  }
  if (auto it = body.find("error_codes"); it != body.end() && it->value().is_array()) {
    for (const auto& v : it->value().get_array())
      if (v.is_int64()) e.aadsts_codes.push_back(static_cast<long>(v.get_int64()));
  }
  e.transient = resp.status >= 500 || resp.status == 429 || resp.status == 408 || resp.status == 0;
  const AadstsAdvice* advice = nullptr;
  for (long code : e.aadsts_codes)
    if ((advice = find_aadsts(code)) != nullptr) break;
  if (advice) {
    e.summary = fmt::format("AADSTS{} {}", advice->code, advice->meaning);
    e.fix = advice->fix;
    e.transient = advice->transient;
  } else if (!e.aadsts_codes.empty()) {
    e.summary = fmt::format("AADSTS{} ({})", e.aadsts_codes.front(), e.error.empty() ? "error" : e.error);
    e.fix = fmt::format("look up AADSTS{} in Microsoft's error reference; give Microsoft the trace_id",
                        e.aadsts_codes.front());
  } else {
    e.summary = fmt::format("token endpoint answered HTTP {}{}{}", resp.status, e.error.empty() ? "" : ": ",
                            e.error);
    e.fix = e.transient ? "none; the relay retries" : "check the tenant's settings";
  }
  return e;
}

}  // namespace

std::string form_encode(const std::vector<std::pair<std::string_view, std::string_view>>& fields) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  // Room for the worst case up front: growing would leave copies of the
  // secret in freed memory.
  std::size_t most = 0;
  for (const auto& [name, value] : fields) most += 3 * (name.size() + value.size()) + 2;
  out.reserve(most);
  auto append = [&out](std::string_view part) {
    for (unsigned char c : part) {
      if (unreserved(c)) {
        out += static_cast<char>(c);
      } else {
        out += '%';
        out += hex[c >> 4];
        out += hex[c & 15];
      }
    }
  };
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out += '&';
    append(name);
    out += '=';
    append(value);
  }
  return out;
}

bool build_token_request(const conf::Tenant& tenant, Clock::time_point now, HttpRequest& req, TokenError& err) {
  req.url = tenant.token_url();
  req.ca_file = tenant.ca_file;
  route_through_proxy(tenant, req);
  std::vector<std::pair<std::string_view, std::string_view>> fields{
      {"client_id", tenant.client_id}, {"scope", tenant.scope}, {"grant_type", "client_credentials"}};
  conf::Secret assertion;
  if (tenant.certificate) {
    try {
      assertion = make_client_assertion(*tenant.certificate, tenant.client_id, req.url, now);
    } catch (const std::exception& ex) {
      err = TokenError{};
      err.summary = fmt::format("cannot build the client assertion: {}", ex.what());
      err.fix = "check the tenant's certificate cert_file and key_file (PEM, RSA, unencrypted key)";
      return false;
    }
    fields.emplace_back("client_assertion_type", kAssertionType);
    fields.emplace_back("client_assertion", assertion.reveal());
  } else {
    fields.emplace_back("client_secret", tenant.client_secret.reveal());
  }
  req.form_body = form_encode(fields);
  return true;
}

bool build_token_request(const TokenTarget& target, Clock::time_point now, HttpRequest& req, TokenError& err) {
  if (target.tenant.provider == conf::Provider::google)
    return build_google_token_request(target, now, req, err);
  return build_token_request(target.tenant, now, req, err);
}

TokenResult parse_token_response(const HttpResponse& resp, Clock::time_point now) {
  TokenResult r;
  if (resp.status == 0 && resp.proxy_failed) {
    r.error = proxy_error(resp);  // names the proxy hop, not the endpoint
    return r;
  }
  if (resp.status == 0) {
    r.error.summary = fmt::format("token endpoint unreachable: {}", resp.transport_error);
    r.error.fix = "check DNS, firewall and proxy towards the tenant's authority; the relay retries";
    r.error.transient = true;
    return r;
  }
  boost::system::error_code ec;
  WipingResource memory;  // declared before v: outlives it
  boost::json::value v = boost::json::parse(resp.body, ec, boost::json::storage_ptr(&memory));
  if (ec || !v.is_object()) {
    r.error = not_json(resp);
    return r;
  }
  const auto& body = v.get_object();
  if (resp.status != 200) {
    r.error = explain_error(resp, body);
    return r;
  }
  auto* token = get_string(body, "access_token");
  std::int64_t lifetime = 0;
  if (auto it = body.find("expires_in"); it != body.end()) {
    // Entra sends a number; some proxies and older endpoints a string.
    if (it->value().is_int64()) {
      lifetime = it->value().get_int64();
    } else if (auto* s = it->value().if_string()) {
      try {
        lifetime = std::stoll(std::string(*s));
      } catch (const std::exception&) {
        lifetime = 0;
      }
    }
  }
  // Entra ID's tokens live about an hour. A larger number is not believed:
  // capped, it cannot overflow the time arithmetic below (found by
  // fuzz/fuzz_token_response), and the token is fetched again within a day.
  constexpr std::int64_t kMaxLifetime = 24 * 3600;
  lifetime = std::min(lifetime, kMaxLifetime);
  if (!token || token->empty() || lifetime <= 0) {
    r.error.http_status = resp.status;
    r.error.summary = "token endpoint answered 200 without access_token or expires_in";
    r.error.fix = "check the tenant's authority URL: it does not look like the Microsoft identity platform";
    r.error.transient = false;
    return r;
  }
  r.ok = true;
  r.token.value = conf::Secret(std::string(*token));
  r.token.fetched_at = now;
  r.token.expires_at = now + std::chrono::seconds(lifetime);
  return r;
}

TokenResult consume_token_response(HttpResponse& resp, Clock::time_point now) {
  TokenResult r = parse_token_response(resp, now);
  wipe_secret(resp.body);
  return r;
}

}  // namespace xr::auth
