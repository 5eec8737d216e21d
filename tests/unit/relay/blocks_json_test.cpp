#include "relay/admin/blocks_json.hpp"

#include <doctest/doctest.h>

using namespace xr;
using namespace std::chrono_literals;

TEST_CASE("/blocks lists each block with its scope, key, end (RFC 3339 UTC) and failures") {
  // 2026-12-05T21:00:00Z
  const auto now = std::chrono::system_clock::time_point(std::chrono::sys_days(std::chrono::year(2026) / 12 / 5) + 21h);
  std::vector<auth::ThrottleBlock> blocks{{auth::ThrottleScope::ip, "192.0.2.7", 900s, 10},
                                          {auth::ThrottleScope::user, "pr\"int\ner", 61s, 30}};
  CHECK(relay::blocks_json(blocks, now) ==
        "{\"blocks\":[{\"scope\":\"ip\",\"key\":\"192.0.2.7\",\"until\":\"2026-12-05T21:15:00Z\",\"failures\":10},"
        "{\"scope\":\"user\",\"key\":\"pr\\\"int\\ner\",\"until\":\"2026-12-05T21:01:01Z\",\"failures\":30}]}\n");
  CHECK(relay::blocks_json({}, now) == "{\"blocks\":[]}\n");
}
