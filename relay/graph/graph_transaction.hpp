// The SMTP session's transaction when its tenant sends through Microsoft
// Graph (smtp: {via: graph}, delivery: direct): the relay answers MAIL, RCPT
// and DATA itself, holds the message (bounded by graph::max_raw_message) and
// sends it with one sendMail at the end of DATA. The device hears 250 only
// after Graph's 202; anything else is the mapped 4xx/5xx. A message over the
// limit is read to its end and refused with 552 5.3.4 (never 250, then drop).
#pragma once

#include "protocols/smtp_reply.hpp"
#include "relay/asio.hpp"
#include "relay/runtime.hpp"

#include <memory>
#include <string>
#include <vector>

namespace xr::relay {

struct GraphAttempt;

class GraphTransaction {
 public:
  GraphTransaction(Services& svc, std::string session_id) : svc_(svc), session_(std::move(session_id)) {}

  // True when `tenant` sends SMTP messages through Graph.
  static bool applies(const conf::Tenant& tenant) { return tenant.smtp_via == conf::SmtpVia::graph; }

  // MAIL (sender policy and rewriting already applied). `snap` is the
  // grant's snapshot: its tenant settings serve the whole transaction.
  // 250, or 552 5.3.4 when SIZE= says the message cannot go through Graph.
  smtp::Reply mail(std::shared_ptr<const ConfigSnapshot> snap, std::string tenant, std::string mailbox,
                   std::string from, std::string_view params);
  smtp::Reply rcpt(std::string address);
  smtp::Reply data();                   // 354; the message is collected from now on
  void write(std::string_view bytes);   // unstuffed bytes after the header guard
  // End of DATA: the Bcc: line, a Graph slot for the mailbox, sendMail
  // (401: new token, once). Logs `message` (via=graph) and counts it.
  net::awaitable<smtp::Reply> finish(std::string message_id, std::size_t bare_lf);
  void reset();  // RSET, aborted or refused message: nothing is sent

  bool ok() const { return ok_; }  // the last finish() got a 202

  // What a refused SIZE= or over-long message hears (also the spool intake's).
  static smtp::Reply too_large_reply(std::uint64_t limit);

 private:
  // Log lines and counts, outside the coroutine (GCC 12: no temporaries in
  // a coroutine frame's big initializer lists).
  void log_too_large(const std::string& message_id, std::uint64_t size);
  void log_mailbox_busy(std::size_t max_concurrent, long long waited_ms);
  void log_result(const GraphAttempt& attempt, const smtp::Reply& reply, bool bcc_added,
                  const std::string& message_id, std::uint64_t size, std::size_t bare_lf);

  Services& svc_;
  std::string session_;
  std::shared_ptr<const ConfigSnapshot> snap_;
  std::string tenant_, mailbox_, from_;
  std::vector<std::string> rcpts_;
  std::string message_;          // the bytes, up to limit_ (dropped when over)
  std::uint64_t limit_ = 0;      // graph::max_raw_message of the tenant
  std::uint64_t received_ = 0;   // every byte of the message, kept or not
  bool over_ = false;
  bool ok_ = false;
  std::chrono::steady_clock::time_point started_{};
};

}  // namespace xr::relay
