#include "graph/bcc_prefix.hpp"

namespace xr::graph {

std::uint64_t BccPlan::dropped() const {
  std::uint64_t n = 0;
  for (const auto& r : drop) n += r.length;
  return n;
}

BccPlan plan_bcc(std::string_view head, bool whole, const std::vector<std::string>& envelope,
                 std::size_t max_header) {
  smtp::RecipientHeaders headers(max_header);
  headers.feed(head);
  if (whole) headers.finish();
  else headers.cut();  // no-op when the blank line was read
  BccPlan plan;
  plan.field = smtp::bcc_field(headers.bcc_line(envelope));
  plan.drop = headers.bcc_fields();
  return plan;
}

std::uint64_t bcc_room(const std::vector<std::string>& rcpts) {
  std::uint64_t n = 7;  // "Bcc: " and CRLF
  for (const auto& r : rcpts) n += r.size() + 4;  // ",\r\n " folding at worst
  return n;
}

}  // namespace xr::graph
