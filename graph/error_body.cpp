// Graph's message texts can echo request parts (addresses, sometimes the
// mailbox) but never the token or the message body, which are not in them;
// they are still flattened to one short line, since they end up in SMTP
// replies where a CR LF would start a new reply line.
#include "graph/error_body.hpp"

#include <boost/json.hpp>

namespace xr::graph {
namespace {

constexpr std::size_t kCodeCap = 100;
constexpr std::size_t kMessageCap = 300;

std::string string_at(const boost::json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return {};
  return std::string(v->get_string());
}

}  // namespace

std::string one_line(std::string_view text, std::size_t cap) {
  std::string out;
  out.reserve(std::min(text.size(), cap + 3));
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    const char put = (u < 0x20 || u == 0x7f) ? ' ' : c;
    if (put == ' ' && (out.empty() || out.back() == ' ')) continue;
    out.push_back(put);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (out.size() > cap) {
    std::size_t cut = cap;
    // Do not split a UTF-8 sequence: back up over continuation bytes.
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
    out += "...";
  }
  return out;
}

GraphError parse_error_body(std::string_view body) {
  GraphError e;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return e;
  const auto* err = v.get_object().if_contains("error");
  if (err == nullptr || !err->is_object()) return e;
  e.code = one_line(string_at(err->get_object(), "code"), kCodeCap);
  e.message = one_line(string_at(err->get_object(), "message"), kMessageCap);
  return e;
}

}  // namespace xr::graph
