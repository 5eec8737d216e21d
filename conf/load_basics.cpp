// The small sections: server, log, limits, trusted_networks.
#include "conf/loader.hpp"

namespace xr::conf {

void load_server(LoadContext& ctx, const Entry& e, Config& cfg) {
  MapReader m(ctx.diag, e, {"hostname", "user"});
  if (auto u = m.get("user")) {
    if (auto name = read_string(ctx.diag, *u)) {
      if (name->empty() || name->find_first_of(" \t\r\n:/") != std::string::npos)
        ctx.diag.add(u->mark(), u->path, "a user name, e.g. user: xoauth2-relay");
      else
        cfg.run_as_user = *name;
    }
  }
  if (auto h = m.get("hostname")) {
    if (auto name = read_string(ctx.diag, *h)) {
      if (name->find_first_of(" \t\r\n") != std::string::npos) {
        ctx.diag.add(h->mark(), h->path, "a host name has no spaces; write the relay's DNS name, e.g. relay.contoso.local");
      } else {
        cfg.hostname = *name;
      }
    }
  }
}

void load_log(LoadContext& ctx, const Entry& e, Config& cfg) {
  MapReader m(ctx.diag, e, {"level", "format"});
  if (auto l = m.get("level")) {
    if (auto v = read_enum<LogLevel>(ctx.diag, *l, {{"error", LogLevel::error}, {"warn", LogLevel::warn},
                                                    {"info", LogLevel::info}, {"debug", LogLevel::debug}}))
      cfg.log_level = *v;
  }
  if (auto f = m.get("format")) {
    if (auto v = read_enum<LogFormat>(ctx.diag, *f, {{"text", LogFormat::text}, {"json", LogFormat::json}}))
      cfg.log_format = *v;
  }
}

void load_limits(LoadContext& ctx, const Entry& e, Limits& limits) {
  MapReader m(ctx.diag, e,
              {"max_sessions", "max_message_size", "max_line_length", "command_timeout", "data_timeout",
               "upstream_connect_timeout", "upstream_reply_timeout", "token_timeout", "login_cache_ttl",
               "shutdown_grace", "splice_idle_timeout", "mailbox_wait_timeout", "auth_failures_per_ip",
               "auth_failures_per_user", "auth_failure_window", "auth_block_time", "max_sessions_per_ip",
               "handshake_timeout", "max_session_lifetime", "max_header_size"});
  auto count = [&](const char* key, std::size_t& out, std::uint64_t min, std::uint64_t max) {
    if (auto f = m.get(key))
      if (auto v = read_uint(ctx.diag, *f, min, max)) out = static_cast<std::size_t>(*v);
  };
  // A zero timeout would drop every session at once: only the login cache
  // has a meaningful 0 ("off").
  auto duration = [&](const char* key, std::chrono::seconds& out, bool zero_ok) {
    auto f = m.get(key);
    if (!f) return;
    auto v = read_duration(ctx.diag, *f);
    if (!v) return;
    if (!zero_ok && v->count() == 0) {
      ctx.diag.add(f->mark(), f->path, "must be at least 1 second");
      return;
    }
    out = *v;
  };
  count("max_sessions", limits.max_sessions, 1, 1000000);
  if (auto f = m.get("max_message_size")) {
    if (auto v = read_size(ctx.diag, *f)) {
      if (*v < 1024) ctx.diag.add(f->mark(), f->path, "must be at least 1K; Exchange Online's default is 35M");
      else limits.max_message_size = *v;
    }
  }
  // RFC 5321 requires at least 512 for command lines and 1000 for text lines.
  count("max_line_length", limits.max_line_length, 1000, 1024 * 1024);
  duration("command_timeout", limits.command_timeout, false);
  duration("data_timeout", limits.data_timeout, false);
  duration("upstream_connect_timeout", limits.upstream_connect_timeout, false);
  duration("upstream_reply_timeout", limits.upstream_reply_timeout, false);
  duration("token_timeout", limits.token_timeout, false);
  duration("login_cache_ttl", limits.login_cache_ttl, true);
  duration("shutdown_grace", limits.shutdown_grace, true);
  duration("splice_idle_timeout", limits.splice_idle_timeout, false);
  duration("mailbox_wait_timeout", limits.mailbox_wait_timeout, true);
  count("auth_failures_per_ip", limits.auth_failures_per_ip, 0, 1000000);
  count("auth_failures_per_user", limits.auth_failures_per_user, 0, 1000000);
  duration("auth_failure_window", limits.auth_failure_window, false);
  duration("auth_block_time", limits.auth_block_time, false);
  count("max_sessions_per_ip", limits.max_sessions_per_ip, 1, 1000000);
  duration("handshake_timeout", limits.handshake_timeout, false);
  duration("max_session_lifetime", limits.max_session_lifetime, false);
  if (auto f = m.get("max_header_size")) {
    if (auto v = read_size(ctx.diag, *f)) {
      if (*v < 1024) ctx.diag.add(f->mark(), f->path, "must be at least 1K; the default is 1M");
      else limits.max_header_size = *v;
    }
  }
}

void load_trusted_networks(LoadContext& ctx, const Entry& e, Config& cfg) {
  // Unlike `sources`, an empty list means what it says (nothing is trusted),
  // so the example file can show the key with its default.
  if (e.value.IsSequence() && e.value.size() == 0) return;
  cfg.trusted_networks = read_sources(ctx, e);
}

}  // namespace xr::conf
