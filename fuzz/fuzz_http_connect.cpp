// HTTP CONNECT (protocols/http_connect): the outbound proxy's answer, fed as
// relay/net/proxy_tunnel.cpp feeds it, and the request built from a host
// and credentials. Input: 3-byte header (fuzz_common.hpp; byte 2 splits the
// stream; flag 1 also builds a request from the stream's first bytes), then
// the bytes the proxy sends.
// Properties: never crashes; the outcome (status, code, reason, error, where
// the head ends) does not depend on how the stream is cut; the head's bytes
// and the tunnel's add up to the stream, so no tunnel byte is lost; the head
// never exceeds its bound; an established tunnel has a 2xx, a refusal a final
// non-2xx; the reason is printable and bounded; a request that is built has
// exactly its own lines (nothing from the host can add one).
#include "fuzz_common.hpp"
#include "protocols/http_connect.hpp"

using namespace xr;
using protocols::ConnectReply;

namespace {

struct Outcome {
  ConnectReply status;
  int code = 0;
  std::string reason, error;
  std::size_t consumed = 0;
  std::string after;  // rest() + what was not fed once decided
};

Outcome parse(std::string_view stream, std::uint8_t seed) {
  protocols::ConnectReplyParser p;
  Outcome o{};
  std::string later;
  for (auto piece : fuzz::split(stream, seed)) {
    if (p.status() == ConnectReply::need_more) {
      const auto took = p.feed(piece);
      XR_FUZZ_CHECK(took <= piece.size());
      if (p.status() == ConnectReply::need_more) XR_FUZZ_CHECK(took == piece.size());
      o.consumed += took;
    } else {
      XR_FUZZ_CHECK(p.feed(piece) == 0);
      later.append(piece);
    }
  }
  o.status = p.status();
  o.code = p.code();
  o.reason = p.reason();
  o.error = p.error();
  o.after = p.rest() + later;
  return o;
}

std::size_t count(const std::string& s, std::string_view what) {
  std::size_t n = 0;
  for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

void check_request(std::string_view stream) {
  const auto nl = stream.find('\n');
  const std::string_view host = stream.substr(0, std::min<std::size_t>(nl, 80));
  const std::string_view creds = nl == std::string_view::npos ? std::string_view{} : stream.substr(nl + 1, 40);
  const auto req = protocols::http_connect_request(host, 587, creds);
  if (!req) return;
  XR_FUZZ_CHECK(req->starts_with("CONNECT "));
  XR_FUZZ_CHECK(req->ends_with("\r\n\r\n"));
  XR_FUZZ_CHECK(count(*req, "\r\n") == (creds.empty() ? 3u : 4u));
  XR_FUZZ_CHECK(count(*req, "\n") == count(*req, "\r\n"));
  XR_FUZZ_CHECK(count(*req, "\r") == count(*req, "\r\n"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::MachineInput in;
  if (!fuzz::read_input(data, size, in)) return 0;
  if (in.flags & 1) check_request(in.stream);

  const auto whole = parse(in.stream, 0);
  const auto cut = parse(in.stream, in.split_seed);
  XR_FUZZ_CHECK(whole.status == cut.status);
  XR_FUZZ_CHECK(whole.code == cut.code);
  XR_FUZZ_CHECK(whole.reason == cut.reason);
  XR_FUZZ_CHECK(whole.error == cut.error);
  XR_FUZZ_CHECK(whole.consumed == cut.consumed);
  XR_FUZZ_CHECK(whole.consumed <= protocols::kMaxConnectReplyHead + 1);
  switch (whole.status) {
    case ConnectReply::need_more:
      XR_FUZZ_CHECK(whole.consumed == in.stream.size());
      break;
    case ConnectReply::established:
      XR_FUZZ_CHECK(whole.code >= 200 && whole.code <= 299);
      XR_FUZZ_CHECK(whole.after == cut.after);
      XR_FUZZ_CHECK(in.stream.substr(whole.consumed) == whole.after);
      break;
    case ConnectReply::refused:
      XR_FUZZ_CHECK(whole.code >= 300 && whole.code <= 599);
      break;
    case ConnectReply::malformed:
      XR_FUZZ_CHECK(!whole.error.empty());
      break;
  }
  XR_FUZZ_CHECK(whole.reason.size() <= protocols::kMaxConnectReasonShown + 3);
  for (char c : whole.reason) XR_FUZZ_CHECK(c >= 0x20 && c < 0x7f);
  return 0;
}
