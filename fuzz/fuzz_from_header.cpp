// The From: header guard (protocols/header_guard, from_address): arbitrary
// message bytes (bare LFs made CRLF first, as the DATA decoder does), split
// arbitrarily. Byte 0: flags (1 rewrite, 2 keep_reply_to, 4 small header
// cap, 8 allow nothing); byte 1: split seed.
// Properties: never crashes; the outcome and output do not depend on how
// the message was split; and when the message is let through:
// - its header block, read again as a mail reader would, holds exactly one
//   From field, with one address, which `senders` allows (or, rewriting,
//   the mailbox), and every header line is a field or a continuation;
// - the header block was within the cap;
// - the body (after the first empty line) passes byte for byte.
#include "fuzz_common.hpp"
#include "protocols/from_address.hpp"
#include "protocols/header_guard.hpp"

using namespace xr;

namespace {

constexpr std::string_view kMailbox = "box@example.com";

std::string crlf(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) out += '\r';
    out += s[i];
  }
  return out;
}

bool allowed(std::uint8_t flags, std::string_view a) {
  if (flags & 8) return false;
  return a == "printer@example.com" || a.ends_with("@allowed.example");
}

struct Run {
  std::string out, reason, from, replaced, message_id;
  bool refused = false, reply_to = false;
};

Run run(std::uint8_t flags, const std::vector<std::string_view>& pieces) {
  smtp::HeaderGuardOptions o;
  o.max_header_size = flags & 4 ? 200 : 1024 * 1024;
  o.allowed = [flags](std::string_view a) { return allowed(flags, a); };
  o.rewrite = flags & 1;
  o.mailbox = std::string(kMailbox);
  o.keep_reply_to = flags & 2;
  smtp::HeaderGuard g(o);
  Run r;
  for (auto p : pieces) g.feed(p, r.out);
  g.finish(r.out);
  r.refused = g.refused();
  r.reason = g.reason();
  r.from = g.from();
  r.replaced = g.replaced();
  r.reply_to = g.reply_to_added();
  r.message_id = g.message_id();
  // For a log line: capped, and no line end survives the unfolding.
  XR_FUZZ_CHECK(r.message_id.size() <= smtp::HeaderGuard::kMaxMessageIdLog);
  XR_FUZZ_CHECK(r.message_id.find_first_of("\r\n") == std::string::npos);
  if (r.refused) XR_FUZZ_CHECK(g.reply().code >= 500);
  return r;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c += 32;
  return out;
}

// The header block of a message that went through, read independently of
// the guard: lines up to the first empty one, continuations joined.
void check_header_block(std::uint8_t flags, std::string_view out) {
  std::size_t end = out.find("\r\n\r\n");
  std::string_view block = out.starts_with("\r\n") ? std::string_view{} : out.substr(0, end == std::string_view::npos ? out.size() : end + 2);
  std::vector<std::string> fields;
  while (!block.empty()) {
    const std::size_t lf = block.find('\n');
    XR_FUZZ_CHECK(lf != std::string_view::npos);  // every line ends
    const std::string_view line = block.substr(0, lf + 1);
    block.remove_prefix(lf + 1);
    if (line.front() == ' ' || line.front() == '\t') {
      XR_FUZZ_CHECK(!fields.empty());  // a continuation of something
      fields.back() += line;
    } else {
      XR_FUZZ_CHECK(line.find(':') != std::string_view::npos);  // a field
      fields.emplace_back(line);
    }
  }
  int from_fields = 0;
  for (const auto& f : fields) {
    std::string_view name = std::string_view(f).substr(0, f.find(':'));
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    if (lower(name) != "from") continue;
    ++from_fields;
    std::string value;
    for (char c : std::string_view(f).substr(f.find(':') + 1))
      if (c != '\r' && c != '\n') value += c;
    const auto a = smtp::parse_from_address(value);
    XR_FUZZ_CHECK(a.kind == smtp::FromAddress::Kind::one);
    XR_FUZZ_CHECK(allowed(flags, a.address) || ((flags & 1) && a.address == kMailbox));
  }
  XR_FUZZ_CHECK(from_fields == 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t flags = data[0];
  const std::string message = crlf(std::string_view(reinterpret_cast<const char*>(data + 2), size - 2));
  const Run whole = run(flags, {message});
  const Run split = run(flags, fuzz::split(message, data[1] | 1));
  XR_FUZZ_CHECK(whole.out == split.out);
  XR_FUZZ_CHECK(whole.refused == split.refused);
  XR_FUZZ_CHECK(whole.reason == split.reason);
  XR_FUZZ_CHECK(whole.from == split.from);
  XR_FUZZ_CHECK(whole.replaced == split.replaced);
  XR_FUZZ_CHECK(whole.reply_to == split.reply_to);
  if (whole.refused) return 0;
  XR_FUZZ_CHECK(whole.message_id == split.message_id);

  check_header_block(flags, whole.out);
  std::size_t body = std::string::npos;
  if (message.starts_with("\r\n")) body = 2;
  else if (const auto blank = message.find("\r\n\r\n"); blank != std::string::npos) body = blank + 4;
  if (body != std::string::npos) {
    XR_FUZZ_CHECK(body <= ((flags & 4) ? 200u : 1024u * 1024u));
    XR_FUZZ_CHECK(whole.out.ends_with(std::string_view(message).substr(body)));
  }
  return 0;
}
