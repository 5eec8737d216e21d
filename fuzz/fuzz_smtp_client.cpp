// The upstream SMTP client (protocols/smtp_client, smtp_reply): arbitrary
// server replies while the shell logs in and sends commands, DATA and BDAT.
//
// Flags: 1 implicit_tls, 2 small command line limit (two-step AUTH).
// Properties: never crashes or loops; without implicit TLS nothing of the
// token leaves before the TLS handshake; a failed client stays failed.
#include "fuzz_common.hpp"
#include "protocols/smtp_client.hpp"

using namespace xr;
using xr::fuzz::Rng;

namespace {

constexpr std::string_view kToken = "fuzz-token-secret";

struct Run {
  std::string output, events;
  bool tls_seen = false;
};

// The relay's next step after a reply: a command, or a message body.
void step(smtp::Client& c, Rng& rng, bool& in_data) {
  if (in_data) {
    in_data = false;
    if (c.last_reply().code == 354) {
      c.message_data(rng.chance(2) ? ".leading dot\r\nline\r\n.\r\n" : "no final newline");
      c.message_end();
      return;
    }
  }
  switch (rng.below(6)) {
    case 0: c.command("MAIL FROM:<a@example.com> SIZE=10"); break;
    case 1: c.command("RCPT TO:<b@example.com>"); break;
    case 2:
      c.command("DATA");
      in_data = true;
      break;
    case 3: c.bdat("chunk\r\n", rng.chance(2)); break;
    case 4: c.command("RSET"); break;
    default: c.command("QUIT"); break;
  }
}

Run run(const fuzz::MachineInput& in, std::uint8_t split_seed) {
  smtp::ClientOptions opts;
  opts.helo_name = "relay.test";
  opts.mailbox = "box@example.com";
  opts.implicit_tls = in.flags & 1;
  if (in.flags & 2) opts.max_line = 64;
  const auto pieces = fuzz::split(in.stream, split_seed);
  Rng rng(in.answer_seed);
  Run r;
  smtp::Client c(opts);
  c.set_token(std::string(kToken));
  std::size_t next = 0;
  bool in_data = false;
  for (int i = 0; i < fuzz::kMaxSteps; ++i) {
    const auto ev = c.next();
    const std::string out = std::exchange(c.output(), {});
    if (!opts.implicit_tls && !r.tls_seen) XR_FUZZ_CHECK(out.find("AUTH") == std::string::npos);
    r.output += out;
    switch (ev) {
      case smtp::ClientEventKind::need_input:
        if (next == pieces.size()) return r;
        c.feed(pieces[next++]);
        break;
      case smtp::ClientEventKind::start_tls:
        r.events += "STARTTLS\n";
        r.tls_seen = true;
        c.tls_started();
        break;
      case smtp::ClientEventKind::logged_in:
      case smtp::ClientEventKind::reply:
        r.events += "REPLY " + c.last_reply().summary() + "\n";
        (void)c.capabilities();
        step(c, rng, in_data);
        break;
      case smtp::ClientEventKind::failed:
        r.events += std::string("FAILED ") + smtp::to_string(c.failure()) + " " + c.last_reply().summary() + "\n";
        (void)c.challenge();
        XR_FUZZ_CHECK(c.next() == smtp::ClientEventKind::failed);
        return r;
    }
  }
  fuzz::fail("the client never settled");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::MachineInput in;
  if (!fuzz::read_input(data, size, in)) return 0;
  const Run split = run(in, in.split_seed);
  if (in.split_seed == 0) return 0;
  const Run whole = run(in, 0);
  if (split.tls_seen || whole.tls_seen) return 0;  // bytes after the 220 to STARTTLS are dropped per read
  XR_FUZZ_CHECK(split.output == whole.output);
  XR_FUZZ_CHECK(split.events == whole.events);
  return 0;
}
