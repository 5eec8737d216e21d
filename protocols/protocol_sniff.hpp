// Which protocol a client speaks, from the first line it sends: a device
// pointed at the wrong port (an SMTP printer on the IMAP listener, a mail
// client's IMAP account on the SMTP port, SSL/TLS switched on against a
// plaintext port) otherwise only shows up as "500 Command unrecognized" or a
// timeout, and the admin never learns why.
//
// Sans-IO and streaming: feed() the client's bytes in any pieces. Only the
// first line is looked at, and of it only the first two words, each kept to
// at most kMaxWord bytes: the rest of the line ("a1 LOGIN user password",
// "PASS secret", "AUTH PLAIN <base64>") is never stored, and the second word
// is read only when the first is no known command (an IMAP tag), so a
// POP3 "USER name" or "PASS ..." keeps nothing but the verb.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace xr::sniff {

enum class Spoken { unknown, smtp, imap, pop3, tls };

const char* to_string(Spoken s);  // "unknown", "smtp", "imap", "pop3", "tls"

class FirstLine {
 public:
  static constexpr std::size_t kMaxWord = 16;

  void feed(std::string_view bytes);
  // Decided: the first line ended, or enough of it was seen (a known verb,
  // a TLS record's first byte, a word too long to be a command).
  bool done() const { return done_; }
  // What the line says the client speaks (unknown until done(), and for
  // lines that fit several protocols: QUIT, NOOP, AUTH, RSET, or none).
  Spoken spoken() const { return spoken_; }
  // What was recognised, safe to log: "EHLO", "USER", "a1 LOGIN",
  // "TLS ClientHello"; "" when nothing was.
  const std::string& seen() const { return seen_; }

 private:
  void end_of_word();
  void decide(Spoken s, std::string seen);

  bool done_ = false;
  Spoken spoken_ = Spoken::unknown;
  bool any_byte_ = false;
  int word_ = 0;            // 0: the first word, 1: the second
  std::string first_, second_;
  std::string seen_;
};

// The protocol the client speaks when it is not the listener's, else
// unknown. `plaintext`: the listener expects no TLS record now (tls: none,
// or STARTTLS before the upgrade); a TLS ClientHello there means the device
// uses implicit TLS (SSL/TLS) where it should use STARTTLS or none.
Spoken wrong_protocol(Spoken listener, bool plaintext, const FirstLine& first);

}  // namespace xr::sniff
