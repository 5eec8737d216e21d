// Runs the login-only machines (IMAP/POP3 servers and clients) on a fuzz
// input, as the relay's shell drives them; the fuzz targets then check that
// the run does not depend on how the bytes were split.
#pragma once

#include "fuzz_common.hpp"
#include "protocols/login_client.hpp"
#include "protocols/login_machine.hpp"

namespace xr::fuzz {

struct LoginRun {
  std::string output, events, leftover;
  bool tls_seen = false;
};

// Server flags: 1 tls_active, 2 starttls_offered, 4 allow_plaintext_auth,
// 8 small line limit, 32 timeout instead of EOF at the end, 64 shutdown halfway.
template <class Server, class Options>
LoginRun run_login_server(Options opts, const MachineInput& in, std::uint8_t split_seed) {
  opts.tls_active = in.flags & 1;
  opts.starttls_offered = in.flags & 2;
  opts.allow_plaintext_auth = in.flags & 4;
  if (in.flags & 8) opts.max_line_length = 64;
  const auto pieces = split(in.stream, split_seed);
  Rng rng(in.answer_seed);
  LoginRun r;
  Server m(opts);
  m.start();
  ServerFeeder feed{pieces, in.flags};
  for (int step = 0; step < kMaxSteps; ++step) {
    const auto ev = m.next();
    r.output += m.take_output();
    switch (ev) {
      case LoginEvent::need_input:
        feed.on_need_input(m);
        break;
      case LoginEvent::start_tls:
        r.events += "STARTTLS\n";
        r.tls_seen = true;
        m.tls_started();
        break;
      case LoginEvent::authenticate: {
        r.events += "AUTH " + m.mechanism() + " " + m.user() + "\n";
        auto outcome = static_cast<LoginOutcome>(rng.below(4));
        if (m.user() == "alice" && m.password() == "pw-alice") outcome = LoginOutcome::ok;
        m.complete_auth(outcome, rng.chance(2) ? std::string("IMAP4rev1 IDLE") : std::string());
        XR_FUZZ_CHECK(m.password().empty());
        break;
      }
      case LoginEvent::logged_in:
        r.events += "LOGGED_IN\n";
        for (; feed.next < pieces.size(); ++feed.next) m.feed(pieces[feed.next]);
        r.leftover = m.take_leftover();
        return r;
      case LoginEvent::close:
        r.events += "CLOSE\n";
        XR_FUZZ_CHECK(m.next() == LoginEvent::close);
        return r;
    }
  }
  fail("the server never settled");
}

inline constexpr std::string_view kToken = "fuzz-token-secret";

template <class Client>
LoginRun run_login_client(const MachineInput& in, std::uint8_t split_seed) {
  const auto pieces = split(in.stream, split_seed);
  LoginRun r;
  Client c(LoginClientOptions{"box@example.com"}, std::string(kToken));
  std::size_t next = 0;
  bool ended = false;
  for (int step = 0; step < kMaxSteps; ++step) {
    const auto ev = c.next();
    r.output += c.take_output();
    switch (ev) {
      case ClientEvent::need_input:
        if (next < pieces.size()) {
          c.feed(pieces[next++]);
        } else if (!ended && (in.flags & 1)) {
          ended = true;
          c.eof();
        } else {
          return r;
        }
        break;
      case ClientEvent::logged_in:
        r.events += "LOGGED_IN " + c.capabilities() + "\n";
        for (; next < pieces.size(); ++next) c.feed(pieces[next]);
        r.leftover = c.take_leftover();
        return r;
      case ClientEvent::failed:
        r.events += std::string("FAILED ") + to_string(c.failure()) + " " + c.failure_text() + "\n";
        // The failure text is the server's words: the token must not get
        // there unless the server itself sent it (or a challenge to decode).
        if (in.stream.find(kToken) == std::string_view::npos && in.stream.find('+') == std::string_view::npos)
          XR_FUZZ_CHECK(r.events.find(kToken) == std::string::npos);
        XR_FUZZ_CHECK(c.next() == ClientEvent::failed);
        return r;
    }
  }
  fail("the client never settled");
}

template <class Run>
void check_same(const Run& a, const Run& b) {
  XR_FUZZ_CHECK(a.output == b.output);
  XR_FUZZ_CHECK(a.events == b.events);
  XR_FUZZ_CHECK(a.leftover == b.leftover);
}

}  // namespace xr::fuzz
