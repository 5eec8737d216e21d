// PROXY protocol v1/v2 headers (protocols/proxy_header): the first bytes
// any peer in proxy_from sends. Input: 3-byte header (fuzz_common.hpp; byte
// 2 splits the stream), then the bytes.
// Properties: never crashes; the outcome (status, source, bytes after the
// header) does not depend on how the stream is cut; a header never exceeds
// its bound; a non-local source is a valid address.
#include "fuzz_common.hpp"
#include "protocols/proxy_header.hpp"

using namespace xr;

namespace {

struct Outcome {
  proxy::Status status;
  proxy::Source source;
  std::string after;  // rest() + what was not fed once done
  std::size_t header = 0;
};

Outcome parse(std::string_view stream, std::uint8_t seed) {
  proxy::HeaderParser p;
  Outcome o{};
  std::string later;
  for (auto piece : fuzz::split(stream, seed)) {
    if (p.status() == proxy::Status::need_more) p.feed(piece);
    else later.append(piece);
  }
  o.status = p.status();
  o.source = p.source();
  o.after = p.rest() + later;
  o.header = stream.size() - o.after.size();
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::MachineInput in;
  if (!fuzz::read_input(data, size, in)) return 0;
  const auto whole = parse(in.stream, 0);
  const auto cut = parse(in.stream, in.split_seed);
  XR_FUZZ_CHECK(whole.status == cut.status);
  if (whole.status != proxy::Status::done) return 0;
  XR_FUZZ_CHECK(whole.after == cut.after);
  XR_FUZZ_CHECK(whole.source.local == cut.source.local);
  XR_FUZZ_CHECK(whole.source.address == cut.source.address);
  XR_FUZZ_CHECK(whole.source.port == cut.source.port);
  XR_FUZZ_CHECK(whole.header <= std::max(proxy::kMaxV1Length, 16 + proxy::kMaxV2Payload));
  XR_FUZZ_CHECK(in.stream.substr(whole.header) == whole.after);
  if (!whole.source.local) XR_FUZZ_CHECK(!whole.source.address.empty());
  return 0;
}
