// Rewrites the From: header of a message as it streams to Office 365, for
// devices that write an address the mailbox may not send as
// (`rewrite_sender: {from_header: true}`). Only the header block is looked
// at, one field at a time; the body passes through untouched and is never
// held. Input is message bytes with CRLF line ends (the DATA decoder's
// output).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace xr::smtp {

class FromHeaderRewriter {
 public:
  // `allowed` says whether an address may stay (the user's `senders`).
  // With `keep_reply_to`, a replaced From goes to a new Reply-To unless the
  // message has one.
  FromHeaderRewriter(std::string mailbox, bool keep_reply_to, std::function<bool(std::string_view)> allowed);

  // Appends the rewritten form of `in` to `out`. Holds back at most one
  // header line (and the From field while its folded lines arrive).
  void feed(std::string_view in, std::string& out);
  // The message is complete: appends whatever is still held.
  void finish(std::string& out);

  // For the log: the From address that was replaced ("" if none), and
  // whether a Reply-To was added.
  const std::string& replaced() const { return replaced_; }
  bool reply_to_added() const { return reply_to_added_; }

  // A header line longer than this ends the rewriting: the rest passes as is.
  static constexpr std::size_t kMaxHeaderLine = 64 * 1024;

 private:
  void header_line(std::string_view line, std::string& out);
  void end_of_from(std::string& out);
  void end_of_headers(std::string& out);

  std::string mailbox_;
  bool keep_reply_to_;
  std::function<bool(std::string_view)> allowed_;
  bool in_body_ = false;
  bool in_from_ = false;   // field_ holds the From field (its lines so far)
  bool saw_reply_to_ = false;
  std::string line_;       // the current header line, until its LF
  std::string field_;
  std::string original_;   // the replaced From's value, for Reply-To
  std::string replaced_;
  bool reply_to_added_ = false;
};

}  // namespace xr::smtp
