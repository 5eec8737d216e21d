// The first-line sniffer (protocols/protocol_sniff): which protocol a client
// speaks, from its first line.
// Input: byte 0 flags (low two bits: the listener's protocol; 4: plaintext
// expected), byte 1 unused, byte 2 split seed; then the client's bytes.
// Properties: the same verdict however the bytes are split; what it keeps to
// log is at most a tag and a command word (never a third word of the line,
// which may be a password), printable, and empty unless it decided; a
// protocol is wrong only when it differs from the listener's.
#include "fuzz_common.hpp"
#include "protocols/protocol_sniff.hpp"

using namespace xr;

namespace {

sniff::FirstLine run(const std::vector<std::string_view>& pieces) {
  sniff::FirstLine f;
  for (auto p : pieces) f.feed(p);
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::MachineInput in;
  if (!fuzz::read_input(data, size, in)) return 0;
  const sniff::FirstLine whole = run(fuzz::split(in.stream, 0));
  const sniff::FirstLine pieces = run(fuzz::split(in.stream, in.split_seed));
  XR_FUZZ_CHECK(whole.done() == pieces.done());
  XR_FUZZ_CHECK(whole.spoken() == pieces.spoken());
  XR_FUZZ_CHECK(whole.seen() == pieces.seen());

  const std::string& seen = whole.seen();
  XR_FUZZ_CHECK(whole.done() || seen.empty());
  XR_FUZZ_CHECK(seen.size() <= 2 * sniff::FirstLine::kMaxWord + 1);
  XR_FUZZ_CHECK(std::count(seen.begin(), seen.end(), ' ') <= 1);
  if (whole.spoken() != sniff::Spoken::tls)
    for (char c : seen) XR_FUZZ_CHECK(c >= ' ' && c < 0x7f);
  // A decision needs a line end or a blank unless the first byte was TLS's
  // or a word was refused; with the first line complete it is always done.
  if (in.stream.find('\n') != std::string_view::npos) XR_FUZZ_CHECK(whole.done());

  const auto listener = static_cast<sniff::Spoken>(1 + (in.flags & 3) % 3);  // smtp, imap, pop3
  const auto wrong = sniff::wrong_protocol(listener, (in.flags & 4) != 0, whole);
  XR_FUZZ_CHECK(wrong != listener);
  if (wrong != sniff::Spoken::unknown) XR_FUZZ_CHECK(wrong == whole.spoken());
  return 0;
}
