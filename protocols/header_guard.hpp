// Inspects the header block of a message as it streams to Office 365 (or the
// spool) and decides whether the device may send it: the `senders` of its
// login govern the From: header, not only MAIL FROM. Office 365 lets the
// relay's app send as any mapped mailbox, so without this a device allowed
// one address could write any other into From:.
//
// The rules: the header block holds exactly one From: field, the field holds
// exactly one mailbox (parsed as RFC 5322 says: comments, quoted strings and
// display names never count, see from_address.hpp), and that address is one
// the login may send as. With `rewrite_sender: {from_header: true}` a From
// outside `senders` (or a missing or empty one) becomes the mailbox instead
// (the display name kept; with `keep_reply_to` the original goes to a new
// Reply-To unless the message has one); several From fields or addresses are
// refused either way, since no rewrite can say which one a reader would see.
// Every line of the header block must be a field (or a continuation): a line
// without a field name could hide a second From from us but not from the
// next reader. The header block is capped at `max_header_size`.
//
// Sans-IO and streaming: input is message bytes with CRLF line ends (the DATA
// decoder's output) in any pieces; header lines pass on as they complete,
// only the From field is held until its end, the body passes untouched. Once
// refused(), nothing more is passed on and the caller must abandon the
// message (what already went out is part of a transaction never completed).
//
// On its way through the header block the guard also notes the first
// Message-ID field's value (unfolded, trimmed, at most kMaxMessageIdLog
// bytes), for the log line that lets ops find the mail in Exchange's message
// trace: the header block is walked here anyway, and the body never is.
#pragma once

#include "protocols/smtp_reply.hpp"

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace xr::smtp {

struct HeaderGuardOptions {
  std::size_t max_header_size = 1024 * 1024;
  std::function<bool(std::string_view)> allowed;  // the login's `senders`
  bool rewrite = false;                           // rewrite_sender.from_header
  std::string mailbox;                            // what a rewritten From says
  bool keep_reply_to = false;                     // rewrite_sender.reply_to
};

class HeaderGuard {
 public:
  explicit HeaderGuard(HeaderGuardOptions opts);

  // Appends what may go on to `out`.
  void feed(std::string_view in, std::string& out);
  // The message is complete (a message that is all header block is judged
  // here).
  void finish(std::string& out);

  bool refused() const { return !reason_.empty(); }
  // Past the header block and not refused: from here on feed() passes its
  // input on unchanged, and the caller may send it without the copy.
  bool passing() const { return done_ && !refused(); }
  // When refused: the reply for the device, and a word for the log
  // (no_from, several_from, several_addresses, no_address, unparsable_from,
  // sender_not_allowed, malformed_header, header_too_large).
  Reply reply() const;
  const std::string& reason() const { return reason_; }
  // The From address judged ("" until then), for the log.
  const std::string& from() const { return from_; }
  // The From address that was replaced ("<>" for an empty or missing one;
  // "" if none), and whether a Reply-To was added.
  const std::string& replaced() const { return replaced_; }
  bool reply_to_added() const { return reply_to_added_; }
  // The first Message-ID field's value as written ("<id@host>", brackets
  // kept; "" when the header block has none, or not yet read). Longer values
  // are cut at kMaxMessageIdLog bytes: it is for a log line.
  const std::string& message_id() const { return message_id_; }
  static constexpr std::size_t kMaxMessageIdLog = 256;

 private:
  void header_line(std::string_view line, std::string& out);
  void end_of_from(std::string& out);
  void note_message_id(std::string_view part);
  void end_of_headers(std::string& out);
  void refuse(const char* reason, int code, const char* text);
  void rewrite(std::string_view value, std::size_t angle, std::string_view original, std::string& out);

  HeaderGuardOptions opts_;
  bool done_ = false;      // past the header block (or refused)
  bool in_from_ = false;   // field_ holds the From field (its lines so far)
  bool any_field_ = false;
  int from_fields_ = 0;
  bool saw_reply_to_ = false;
  std::size_t header_bytes_ = 0;
  std::string line_;       // the current header line, until its LF
  std::string field_;
  std::string original_;   // the replaced From's value, for Reply-To
  std::string from_;
  std::string replaced_;
  bool reply_to_added_ = false;
  bool in_message_id_ = false;  // the current field is the first Message-ID
  bool saw_message_id_ = false;
  std::string message_id_;
  std::string reason_;
  int code_ = 0;
  std::string text_;
};

}  // namespace xr::smtp
