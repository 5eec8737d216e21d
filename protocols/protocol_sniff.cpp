#include "protocols/protocol_sniff.hpp"

#include <algorithm>
#include <array>

namespace xr::sniff {
namespace {

// TLS record type 22 (handshake): the first byte of every ClientHello. No
// text command starts with this control character.
constexpr unsigned char kTlsHandshake = 0x16;

// Commands only one of the protocols has, untagged (IMAP commands are
// always tagged). AUTH, QUIT, NOOP and RSET are both SMTP and POP3: they
// tell nothing.
constexpr std::array<std::string_view, 10> kSmtpVerbs{"EHLO", "HELO", "MAIL", "RCPT", "DATA",
                                                      "STARTTLS", "VRFY", "EXPN", "HELP", "BDAT"};
constexpr std::array<std::string_view, 12> kPop3Verbs{"USER", "PASS", "CAPA", "STLS", "APOP", "STAT",
                                                      "LIST", "RETR", "DELE", "UIDL", "TOP", "UTF8"};
constexpr std::array<std::string_view, 4> kShared{"AUTH", "QUIT", "NOOP", "RSET"};
// What an IMAP client sends first, after its tag.
constexpr std::array<std::string_view, 13> kImapCommands{"CAPABILITY", "LOGIN", "AUTHENTICATE", "STARTTLS", "ID",
                                                         "NOOP", "LOGOUT", "SELECT", "EXAMINE", "LIST", "LSUB",
                                                         "ENABLE", "NAMESPACE"};

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = char(c - 32);
  return out;
}

template <std::size_t N>
bool one_of(const std::array<std::string_view, N>& list, std::string_view word) {
  return std::find(list.begin(), list.end(), word) != list.end();
}

bool printable(unsigned char c) { return c > ' ' && c < 0x7f; }

}  // namespace

const char* to_string(Spoken s) {
  switch (s) {
    case Spoken::unknown: return "unknown";
    case Spoken::smtp: return "smtp";
    case Spoken::imap: return "imap";
    case Spoken::pop3: return "pop3";
    case Spoken::tls: return "tls";
  }
  return "unknown";
}

void FirstLine::decide(Spoken s, std::string seen) {
  done_ = true;
  spoken_ = s;
  seen_ = std::move(seen);
  // What was kept of the words goes: only `seen_` (a verb, or tag and
  // command) stays.
  first_.clear();
  second_.clear();
}

void FirstLine::end_of_word() {
  if (word_ == 0) {
    const std::string verb = upper(first_);
    if (one_of(kSmtpVerbs, verb)) return decide(Spoken::smtp, verb);
    if (one_of(kPop3Verbs, verb)) return decide(Spoken::pop3, verb);
    if (one_of(kShared, verb)) return decide(Spoken::unknown, verb);
    word_ = 1;  // maybe an IMAP tag: the command follows
    return;
  }
  const std::string command = upper(second_);
  if (one_of(kImapCommands, command)) return decide(Spoken::imap, first_ + " " + command);
  decide(Spoken::unknown, "");
}

void FirstLine::feed(std::string_view bytes) {
  for (const char ch : bytes) {
    if (done_) return;
    const auto c = static_cast<unsigned char>(ch);
    if (!any_byte_) {
      any_byte_ = true;
      if (c == kTlsHandshake) return decide(Spoken::tls, "TLS ClientHello");
    }
    std::string& word = word_ == 0 ? first_ : second_;
    if (c == '\r' || c == '\n') {
      // The line ends: a lone verb is judged; a tag alone, or nothing, is
      // no command.
      if (!word.empty()) end_of_word();
      if (!done_) decide(Spoken::unknown, "");
      return;
    }
    if (c == ' ' || c == '\t') {
      if (!word.empty()) end_of_word();
      else if (word_ == 0) return decide(Spoken::unknown, "");  // a line that starts with a blank
      continue;  // blanks between the words
    }
    if (!printable(c) || word.size() >= kMaxWord) return decide(Spoken::unknown, "");
    word += ch;
  }
}

Spoken wrong_protocol(Spoken listener, bool plaintext, const FirstLine& first) {
  if (!first.done()) return Spoken::unknown;
  const Spoken heard = first.spoken();
  if (heard == Spoken::tls) return plaintext ? Spoken::tls : Spoken::unknown;
  if (heard == Spoken::unknown || heard == listener) return Spoken::unknown;
  return heard;
}

}  // namespace xr::sniff
