// Graph refuses requests above about 4 MB (ErrorMessageSizeExceeded / 413).
// sendMail's body is the MIME message in base64: 4 bytes per 3, plus the
// request line and headers: about 3.0 MB of MIME. Some tenants are reported
// to fail from ~2.2 MB already; those messages get Graph's own 413 (552
// 5.3.4 direct, a DSN when spooled). A lower fixed limit would refuse mail
// every other tenant takes.
#include "graph/graph_client.hpp"

namespace xr::graph {

std::uint64_t max_raw_message(const conf::GraphSettings&) {
  constexpr std::uint64_t kGraphRequestLimit = 4ULL * 1024 * 1024;
  constexpr std::uint64_t kHeadroom = 64 * 1024;  // request line, headers, rounding
  return (kGraphRequestLimit - kHeadroom) / 4 * 3;
}

}  // namespace xr::graph
