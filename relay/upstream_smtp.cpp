#include "relay/upstream_smtp.hpp"

#include "protocols/secret.hpp"

#include <array>
#include <memory>

namespace xr::relay {
namespace {

constexpr std::size_t kBdatChunk = 64 * 1024;  // one round trip per 64 KiB
constexpr std::size_t kReplyBuffer = 4096;

}  // namespace

std::string UpstreamLogin::said() const {
  if (!reply.code) return "-";
  return challenge.empty() ? reply.summary() : reply.summary() + " (challenge: " + challenge + ")";
}

const char* to_string(UpstreamLogin::Status s) {
  using S = UpstreamLogin::Status;
  switch (s) {
    case S::ok: return "ok";
    case S::connect_failed: return "connect_failed";
    case S::tls_failed: return "tls_failed";
    case S::refused: return "refused";
    case S::temporary: return "temporary";
    case S::protocol_error: return "protocol_error";
  }
  return "error";
}

const char* metric_outcome(const UpstreamLogin& login) {
  using S = UpstreamLogin::Status;
  return login.status == S::ok ? "ok" : login.status == S::refused ? "refused" : "unavailable";
}

UpstreamSmtp::Settings UpstreamSmtp::Settings::for_mailbox(const conf::Config& cfg, const conf::Tenant& tenant,
                                                           std::string mailbox) {
  Settings s;
  s.endpoint = tenant.smtp;
  if (const auto* proxy = tenant.proxy_for(tenant.smtp.host))
    s.proxy = std::make_shared<const conf::EgressProxy>(*proxy);
  s.helo_name = cfg.hostname;
  s.mailbox = std::move(mailbox);
  s.connect_timeout = cfg.limits.upstream_connect_timeout;
  s.reply_timeout = cfg.limits.upstream_reply_timeout;
  return s;
}

UpstreamSmtp::UpstreamSmtp(net::any_io_executor ex, ssl::context& tls, Settings settings)
    : settings_(std::move(settings)),
      conn_(tcp::socket(ex), tls),
      client_(smtp::ClientOptions{settings_.helo_name, settings_.mailbox,
                                  settings_.endpoint.tls == conf::TlsMode::implicit}) {}

std::string UpstreamSmtp::peer() const {
  return settings_.endpoint.host + ":" + std::to_string(settings_.endpoint.port);
}

void UpstreamSmtp::fail(std::string why) {
  if (alive_ || error_.empty()) error_ = std::move(why);
  alive_ = false;
  conn_.close_now();
}

void UpstreamSmtp::abandon() { fail("abandoned"); }

net::awaitable<bool> UpstreamSmtp::flush(bool message_bytes) {
  auto& out = client_.output();
  if (out.empty()) co_return true;
  auto r = co_await conn_.write_all(out, settings_.reply_timeout);
  bytes_sent_ += out.size();
  // Commands may hold the token: wipe them before releasing. Message bytes
  // pass through in the clear anyway; wiping them would cost a pass each.
  if (message_bytes) {
    out.clear();
  } else {
    wipe_and_release(out, 1024);  // the AUTH line made it large; an idle upstream keeps little
  }
  if (!r.ok()) {
    fail("write to " + peer() + ": " + r.describe());
    co_return false;
  }
  co_return true;
}

net::awaitable<smtp::ClientEventKind> UpstreamSmtp::step() {
  for (;;) {
    auto ev = client_.next();
    if (ev != smtp::ClientEventKind::need_input) co_return ev;
    {
      const bool ok = co_await flush();
      if (!ok) co_return smtp::ClientEventKind::failed;
    }
    // A reply buffer only while a reply is awaited: an upstream connection
    // lingering between messages holds none.
    auto buf = std::make_unique_for_overwrite<char[]>(kReplyBuffer);
    auto r = co_await conn_.read_some(net::buffer(buf.get(), kReplyBuffer), settings_.reply_timeout);
    if (!r.ok()) {
      fail(r.status == IoStatus::timeout ? "no reply from " + peer() + " within " +
                                               std::to_string(settings_.reply_timeout.count()) + "s"
                                         : "connection to " + peer() + " lost: " + r.describe());
      co_return smtp::ClientEventKind::failed;
    }
    client_.feed(std::string_view(buf.get(), r.bytes));
  }
}

net::awaitable<UpstreamLogin> UpstreamSmtp::open(std::string token) {
  UpstreamLogin result;
  client_.set_token(std::move(token));
  const conf::EgressProxy* proxy = settings_.proxy.get();
  const bool implicit_tls = settings_.endpoint.tls == conf::TlsMode::implicit;
  auto failed = co_await connect_upstream(conn_, settings_.endpoint, proxy, settings_.connect_timeout, implicit_tls);
  if (failed) {
    error_ = failed->detail;
    result.status = failed->tls ? UpstreamLogin::Status::tls_failed : UpstreamLogin::Status::connect_failed;
    result.detail = failed->detail;
    result.hop = failed->hop;
    result.proxy_status = failed->proxy_status;
    co_return result;
  }
  alive_ = true;

  for (;;) {
    auto ev = co_await step();
    switch (ev) {
      case smtp::ClientEventKind::start_tls: {
        {
          const bool ok = co_await flush();
          if (!ok) break;
        }
        auto hs = co_await conn_.handshake_client(settings_.endpoint.host, settings_.connect_timeout,
                                                  settings_.endpoint.port);
        if (!hs.ok()) {
          fail("TLS handshake with " + peer() + ": " + hs.describe());
          result.status = UpstreamLogin::Status::tls_failed;
          result.detail = error_;
          co_return result;
        }
        client_.tls_started();
        continue;
      }
      case smtp::ClientEventKind::logged_in:
        result.status = UpstreamLogin::Status::ok;
        result.reply = client_.last_reply();
        co_return result;
      case smtp::ClientEventKind::failed:
      case smtp::ClientEventKind::reply:
      case smtp::ClientEventKind::need_input:
        break;
    }
    // Failure: either the connection (error_ set) or the protocol.
    result.reply = client_.last_reply();
    if (!alive_) {
      result.status = UpstreamLogin::Status::connect_failed;
      result.detail = error_;
      co_return result;
    }
    auto why = client_.failure();
    result.detail = smtp::to_string(why);
    result.challenge = client_.challenge();
    if (why == smtp::ClientFailure::auth_refused)
      result.status = result.reply.klass() == 4 ? UpstreamLogin::Status::temporary : UpstreamLogin::Status::refused;
    else if (why == smtp::ClientFailure::greeting_refused && result.reply.klass() == 4)
      result.status = UpstreamLogin::Status::temporary;
    else
      result.status = UpstreamLogin::Status::protocol_error;
    fail(result.detail);
    co_return result;
  }
}

net::awaitable<std::optional<smtp::Reply>> UpstreamSmtp::command(const std::string& line) {
  if (!alive_) co_return std::nullopt;
  bool is_data = line.size() == 4 && (line == "DATA" || line == "data");
  if (is_data && settings_.use_bdat && client_.capabilities().chunking) {
    bdat_mode_ = true;
    bdat_buffer_.clear();
    bdat_failure_.reset();
    co_return smtp::make_reply(354, "Start mail input; end with <CRLF>.<CRLF>");
  }
  client_.command(line);
  auto ev = co_await step();
  if (ev != smtp::ClientEventKind::reply) co_return std::nullopt;
  co_return client_.last_reply();
}

net::awaitable<bool> UpstreamSmtp::send_bdat_chunk(bool last) {
  client_.bdat(bdat_buffer_, last);
  bdat_buffer_.clear();
  auto ev = co_await step();
  if (ev != smtp::ClientEventKind::reply) co_return false;
  const auto& reply = client_.last_reply();
  if (!last && reply.klass() != 2) bdat_failure_ = reply;
  co_return true;
}

net::awaitable<bool> UpstreamSmtp::message_data(std::string_view bytes) {
  if (!alive_) co_return false;
  if (!bdat_mode_) {
    client_.message_data(bytes);
    co_return co_await flush(true);
  }
  if (bdat_failure_) co_return true;  // already refused: swallow the rest
  bdat_buffer_.append(bytes);
  if (bdat_buffer_.size() >= kBdatChunk) co_return co_await send_bdat_chunk(false);
  co_return true;
}

net::awaitable<std::optional<smtp::Reply>> UpstreamSmtp::message_end() {
  if (!alive_) co_return std::nullopt;
  if (bdat_mode_) {
    bdat_mode_ = false;
    if (bdat_failure_) {
      // The server refused a chunk: RFC 3030 says send no more chunks and
      // reset, so the next transaction starts clean.
      auto r = *bdat_failure_;
      bdat_failure_.reset();
      client_.command("RSET");
      const auto ev = co_await step();
      if (ev != smtp::ClientEventKind::reply) co_return std::nullopt;
      co_return r;
    }
    {
      const bool ok = co_await send_bdat_chunk(true);
      if (!ok) co_return std::nullopt;
    }
    co_return client_.last_reply();
  }
  client_.message_end();
  auto ev = co_await step();
  // The output grew to the DATA chunks; the connection may stay for the
  // next message or linger, so give that back.
  std::string().swap(client_.output());
  if (ev != smtp::ClientEventKind::reply) co_return std::nullopt;
  co_return client_.last_reply();
}

net::awaitable<void> UpstreamSmtp::quit() {
  if (alive_) {
    client_.command("QUIT");
    const bool sent = co_await flush();
    if (sent) {
      // Read the 221 so the server sees an orderly end, but never wait long.
      std::array<char, 512> buf{};  // the 221, read and dropped
      auto r = co_await conn_.read_some(net::buffer(buf), std::chrono::seconds(5));
      (void)r;
    }
    alive_ = false;
  }
  co_await conn_.close(std::chrono::seconds(5));
}

}  // namespace xr::relay
