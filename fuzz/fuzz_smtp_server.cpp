// The device-facing SMTP server (protocols/smtp_server*): arbitrary device
// bytes, including AUTH and DATA/BDAT, with a shell that answers every event
// plausibly (logins that succeed or fail, upstream replies good and bad).
//
// Flags: 1 tls_active, 2 starttls_offered, 4 allow_plaintext_auth,
// 8 auth_required, 16 small limits, 32 timeout instead of EOF at the end,
// 64 shutdown halfway.
// Properties: never crashes or loops; the password is wiped once answered;
// a closed machine stays closed; no message streams more than
// max_message_size bytes; and (without STARTTLS or a shutdown, whose effect
// depends on timing) the run does not depend on how the bytes were split.
#include "fuzz_common.hpp"
#include "protocols/smtp_server.hpp"

using namespace xr;
using xr::fuzz::Rng;

namespace {

struct Run {
  std::string output, events;
  bool tls_seen = false;
};

smtp::Reply upstream_reply(const smtp::Command& c, Rng& rng) {
  switch (rng.below(8)) {
    case 0: return smtp::make_reply(451, "4.3.0 Temporary failure");
    case 1: return smtp::make_reply(550, "5.7.1 Refused");
    case 2: {
      smtp::Reply r;
      r.code = 250;
      r.lines = {"first", "", "last line"};
      return r;
    }
    default: break;
  }
  switch (c.kind) {
    case smtp::CommandKind::data: return smtp::make_reply(354, "Start mail input");
    case smtp::CommandKind::quit: return smtp::make_reply(221, "2.0.0 Bye");
    default: return smtp::make_reply(250, "2.1.0 OK");
  }
}

Run run(const fuzz::MachineInput& in, std::uint8_t split_seed) {
  smtp::ServerOptions opts;
  opts.hostname = "relay.test";
  opts.tls_active = in.flags & 1;
  opts.starttls_offered = in.flags & 2;
  opts.allow_plaintext_auth = in.flags & 4;
  opts.auth_required = in.flags & 8;
  if (in.flags & 16) {
    opts.max_line_length = 64;
    opts.max_message_size = 300;
  }
  const auto pieces = fuzz::split(in.stream, split_seed);
  Rng rng(in.answer_seed);
  Run r;
  smtp::Server m(opts);
  m.start();
  fuzz::ServerFeeder feed{pieces, in.flags};
  std::size_t streamed = 0;
  for (int step = 0; step < fuzz::kMaxSteps; ++step) {
    const auto ev = m.next();
    if (ev != smtp::EventKind::message_data) r.output += std::exchange(m.output(), {});
    switch (ev) {
      case smtp::EventKind::need_input:
        feed.on_need_input(m);
        break;
      case smtp::EventKind::start_tls:
        r.events += "STARTTLS\n";
        r.tls_seen = true;
        m.tls_started();
        break;
      case smtp::EventKind::authenticate: {
        r.events += "AUTH " + m.auth_mechanism() + " " + m.auth_user() + "\n";
        auto outcome = static_cast<smtp::AuthOutcome>(rng.below(4));
        if (m.auth_user() == "alice" && m.auth_password() == "pw-alice") outcome = smtp::AuthOutcome::ok;
        m.complete_auth(outcome, rng.chance(2) ? "4.7.0 mailbox busy" : "");
        XR_FUZZ_CHECK(m.auth_password().empty());
        break;
      }
      case smtp::EventKind::upstream_command:
        r.events += "CMD " + m.command().line + "\n";
        m.complete_command(upstream_reply(m.command(), rng));
        break;
      case smtp::EventKind::message_data:
        XR_FUZZ_CHECK(!m.data().empty());
        streamed += m.data().size();
        XR_FUZZ_CHECK(streamed <= opts.max_message_size);
        r.events.append(m.data());
        break;
      case smtp::EventKind::message_end:
        r.events += "\nEND\n";
        streamed = 0;
        m.complete_command(rng.chance(4) ? smtp::make_reply(554, "5.6.0 Rejected")
                                         : smtp::make_reply(250, "2.6.0 Queued"));
        break;
      case smtp::EventKind::message_abort:
        r.events += "\nABORT\n";
        streamed = 0;
        break;
      case smtp::EventKind::close:
        r.events += "CLOSE\n";
        XR_FUZZ_CHECK(m.next() == smtp::EventKind::close);
        return r;
    }
  }
  fuzz::fail("the server never settled");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::MachineInput in;
  if (!fuzz::read_input(data, size, in)) return 0;
  const Run split = run(in, in.split_seed);
  if (in.split_seed == 0 || (in.flags & 64)) return 0;
  const Run whole = run(in, 0);
  if (split.tls_seen || whole.tls_seen) return 0;  // bytes after STARTTLS are dropped per read
  XR_FUZZ_CHECK(split.output == whole.output);
  XR_FUZZ_CHECK(split.events == whole.events);
  return 0;
}
