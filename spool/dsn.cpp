// The bounce (RFC 3464 multipart/report). Sent through the entry's own
// mailbox: From: and MAIL FROM are that mailbox, the only sender Exchange
// lets the app use without SendAs. Every line is CRLF-terminated and at most
// 998 bytes, and every value from outside is kept on its line, so the DSN
// itself is never refused for its form.
#include "spool/dsn.hpp"

#include "spool/mail_text.hpp"
#include "spool/queue_id.hpp"

#include <fmt/format.h>

#include <random>

namespace xr::spool {
namespace {

using namespace mail_text;

std::string duration_text(std::int64_t ms) {
  const std::int64_t minutes = std::max<std::int64_t>(ms, 0) / 60000;
  auto plural = [](std::int64_t n, const char* unit) { return fmt::format("{} {}{}", n, unit, n == 1 ? "" : "s"); };
  if (minutes >= 2 * 24 * 60) return plural(minutes / (24 * 60), "day");
  if (minutes >= 120) return plural(minutes / 60, "hour");
  return plural(minutes, "minute");
}

std::string status_of(const FailedRecipient& f, bool expired) {
  if (expired) return "4.4.7";  // RFC 3463: delivery time expired
  return f.status.empty() ? "5.0.0" : one_line(f.status);
}

std::string human_part(const DsnRequest& r, const std::string& subject) {
  std::string t;
  t += wrap("This is the mail relay " + one_line(r.reporting_mta) + ".");
  t += "\r\n";
  if (r.expired) {
    t += wrap(fmt::format("Delivery of your message expired after retrying for {} (since {}). It was not "
                          "delivered to these recipients:",
                          duration_text(r.now_ms - r.original.received_ms), rfc5322_date(r.original.received_ms)));
  } else {
    t += wrap("Your message could not be delivered to these recipients; Office 365 refused it:");
  }
  t += "\r\n";
  for (const auto& f : r.failed) {
    t += wrap(f.address, "    ");
    if (!f.diagnostic.empty()) t += wrap(f.diagnostic, "        ");
    t += "\r\n";
  }
  t += wrap("Subject: " + subject);
  t += wrap("Queue ID: " + r.original.id);
  t += wrap("Sent through: " + r.original.mailbox);
  t += "\r\n";
  t += wrap("The headers of your message are attached.");
  return t;
}

std::string status_part(const DsnRequest& r, const std::optional<std::string>& message_id) {
  std::string s;
  s += fold_field("Reporting-MTA", "dns; " + r.reporting_mta);
  if (message_id) s += fold_field("X-Original-Message-ID", *message_id);
  s += fold_field("Arrival-Date", rfc5322_date(r.original.received_ms));
  for (const auto& f : r.failed) {
    s += "\r\n";
    s += fold_field("Final-Recipient", "rfc822;" + f.address);
    s += "Action: failed\r\n";
    s += fold_field("Status", status_of(f, r.expired));
    if (!f.diagnostic.empty()) s += fold_field("Diagnostic-Code", "smtp; " + f.diagnostic);
    s += fold_field("Last-Attempt-Date", rfc5322_date(r.now_ms));
  }
  return s;
}

std::string new_boundary(std::mt19937_64& rng) { return fmt::format("=_xr_report_{:016x}{:08x}", rng(), rng() >> 32); }

}  // namespace

std::string build_dsn(const DsnRequest& r) {
  auto raw_subject = header_value(r.original_headers, "Subject");
  std::string subject = raw_subject && !raw_subject->empty() ? *raw_subject : "(no subject)";
  auto message_id = header_value(r.original_headers, "Message-ID");

  const std::string text = human_part(r, subject);
  const std::string status = status_part(r, message_id);
  const std::string headers = crlf_lines(r.original_headers);
  const bool text_ascii = is_ascii(text), headers_ascii = is_ascii(headers);

  // A boundary must not occur in what it separates; random ones practically
  // never do, and the check makes it certain.
  std::mt19937_64 rng(std::random_device{}());
  std::string boundary = new_boundary(rng);
  while (text.find(boundary) != std::string::npos || status.find(boundary) != std::string::npos ||
         headers.find(boundary) != std::string::npos)
    boundary = new_boundary(rng);

  std::string m;
  m += "From: \"Mail Delivery System\" <" + one_line(r.original.mailbox) + ">\r\n";
  m += fold_field("To", "<" + r.to + ">");
  m += fold_field("Subject", "Undeliverable: " + subject);
  m += "Date: " + rfc5322_date(r.now_ms) + "\r\n";
  m += fold_field("Message-ID", "<" + dsn_id_for(r.original.id) + "@" + r.reporting_mta + ">");
  if (message_id) m += fold_field("In-Reply-To", *message_id);
  m += "Auto-Submitted: auto-replied\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/report; report-type=delivery-status;\r\n";
  m += "\tboundary=\"" + boundary + "\"\r\n";
  if (!text_ascii || !headers_ascii) m += "Content-Transfer-Encoding: 8bit\r\n";
  m += "\r\n";
  m += "This is a delivery status notification in MIME format.\r\n";
  m += "\r\n--" + boundary + "\r\n";
  m += text_ascii ? "Content-Type: text/plain; charset=us-ascii\r\n"
                  : "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n";
  m += "\r\n" + text;
  m += "\r\n--" + boundary + "\r\n";
  m += "Content-Type: message/delivery-status\r\n\r\n";
  m += status;
  m += "\r\n--" + boundary + "\r\n";
  m += "Content-Type: text/rfc822-headers\r\n";
  if (!headers_ascii) m += "Content-Transfer-Encoding: 8bit\r\n";
  m += "\r\n" + headers;
  m += "\r\n--" + boundary + "--\r\n";
  return m;
}

Envelope dsn_envelope(const Envelope& original, const std::string& to, std::int64_t now_ms) {
  Envelope e;
  e.id = dsn_id_for(original.id);
  e.received_ms = now_ms;
  e.session = original.session;
  e.user = original.user;
  e.tenant = original.tenant;
  e.mailbox = original.mailbox;
  e.mail_from = original.mailbox;
  e.rcpts.push_back(Recipient{to, ""});
  e.is_dsn = true;
  return e;
}

}  // namespace xr::spool
