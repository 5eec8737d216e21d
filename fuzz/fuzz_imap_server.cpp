// The device-facing IMAP server up to the login (protocols/imap_server,
// login_machine, line_reader, imap_command, sasl_plain): arbitrary device bytes, logins
// answered with every outcome. Flags: see login_run.hpp.
// Properties: never crashes or loops; the password is wiped once answered;
// a closed machine stays closed; the output, events and the bytes handed to
// the splice do not depend on how the input was split (unless STARTTLS or a
// shutdown made timing matter).
#include "login_run.hpp"
#include "protocols/imap_server.hpp"

using namespace xr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::MachineInput in;
  if (!fuzz::read_input(data, size, in)) return 0;
  imap::ServerOptions opts;
  if (in.flags & 16) opts.max_literal_size = 16;
  const auto split = fuzz::run_login_server<imap::Server>(opts, in, in.split_seed);
  if (in.split_seed == 0 || (in.flags & 64)) return 0;
  const auto whole = fuzz::run_login_server<imap::Server>(opts, in, 0);
  if (split.tls_seen || whole.tls_seen) return 0;
  fuzz::check_same(split, whole);
  return 0;
}
