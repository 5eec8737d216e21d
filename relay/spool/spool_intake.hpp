// The device side of `delivery: spool`: one SMTP session's transaction,
// answered by the relay instead of Office 365. MAIL checks space, RCPT
// collects, DATA opens the spool file, the message streams to disk, and the
// device hears "250 2.0.0 Queued as <id>" only after commit() made it durable.
#pragma once

#include "protocols/smtp_reply.hpp"
#include "relay/asio.hpp"
#include "relay/spool/delivery_engine.hpp"
#include "spool/envelope.hpp"
#include "spool/store.hpp"

#include <optional>
#include <string>

namespace xr::relay {

// SIZE=n of MAIL parameters as the SMTP state machine passes them on
// (validated, written "SIZE=n"); 0 when absent.
std::uint64_t announced_size(std::string_view params);

class SpoolIntake {
 public:
  explicit SpoolIntake(DeliveryEngine& engine) : engine_(engine) {}

  // Who the session is; kept in every envelope.
  void set_origin(std::string session, std::string client, std::string user, std::string tenant, std::string mailbox);

  // MAIL (sender policy and rewriting already applied): 250, or 452 4.3.1
  // when the spool is full. `params` as normalised by the machine.
  smtp::Reply mail(std::string upstream_from, std::string original_from, std::string_view params);
  smtp::Reply rcpt(std::string address, std::string params);
  // DATA: opens the spool file; 354, or 451 when it cannot be created.
  smtp::Reply data();
  // Message bytes (unstuffed, after any From: rewriting). An I/O error is
  // remembered and answered at finish().
  void write(std::string_view bytes);
  // End of DATA: commit on the blocking pool; "250 2.0.0 Queued as <id>", or
  // 452 4.3.1 / 451 4.3.0 (nothing was queued).
  net::awaitable<smtp::Reply> finish(net::thread_pool& blocking);
  // RSET, aborted DATA, session end: drops anything uncommitted.
  void reset();

  // For the session's log line after finish().
  const std::string& last_id() const { return last_id_; }
  const std::string& last_error() const { return error_; }
  const spool::Envelope& envelope() const { return env_; }
  std::uint64_t message_size() const { return message_size_; }

 private:
  DeliveryEngine& engine_;
  spool::Envelope env_;
  std::optional<spool::Writer> writer_;
  std::string error_;
  std::string last_id_;
  std::uint64_t message_size_ = 0;
};

}  // namespace xr::relay
