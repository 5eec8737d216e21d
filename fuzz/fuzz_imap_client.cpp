// The upstream IMAP client up to the login (protocols/imap_client,
// login_client): arbitrary server bytes. Flag 1: EOF after the input.
// Properties: never crashes or loops; the failure text never holds the
// token; a failed client stays failed; the run does not depend on how the
// server's bytes were split.
#include "login_run.hpp"
#include "protocols/imap_client.hpp"

using namespace xr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::MachineInput in;
  if (!fuzz::read_input(data, size, in)) return 0;
  const auto split = fuzz::run_login_client<imap::Client>(in, in.split_seed);
  if (in.split_seed == 0) return 0;
  fuzz::check_same(split, fuzz::run_login_client<imap::Client>(in, 0));
  return 0;
}
