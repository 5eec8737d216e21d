#include "spool/queue_id.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <set>

using namespace xr::spool;

TEST_CASE("new queue ids are 20 upper-case hex digits, valid, unique and sort by time") {
  std::set<std::string> seen;
  std::string previous;
  for (int i = 0; i < 1000; ++i) {
    auto id = new_queue_id();
    CHECK(id.size() == 20);
    CHECK(valid_queue_id(id));
    CHECK(id.find_first_not_of("0123456789ABCDEF") == std::string::npos);
    CHECK(seen.insert(id).second);
    CHECK(id.substr(0, 12) >= previous.substr(0, std::min<std::size_t>(12, previous.size())));
    previous = id;
  }
  // The first 12 digits are the time in milliseconds.
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  auto stamp = std::stoll(new_queue_id().substr(0, 12), nullptr, 16);
  CHECK(std::llabs(stamp - now) < 5000);
}

TEST_CASE("a DSN id is the entry id followed by B, and valid") {
  CHECK(dsn_id_for("0123456789ABCDEF0123") == "0123456789ABCDEF0123B");
  CHECK(valid_queue_id(dsn_id_for("0123456789ABCDEF0123")));
}

TEST_CASE("valid_queue_id refuses anything that is not a safe id") {
  CHECK(valid_queue_id("0123456789ABCDEF0123"));
  CHECK_FALSE(valid_queue_id(""));
  CHECK_FALSE(valid_queue_id("../x"));
  CHECK_FALSE(valid_queue_id("../../../etc/passwd"));
  CHECK_FALSE(valid_queue_id("0123456789abcdef0123"));   // lower case
  CHECK_FALSE(valid_queue_id("0123456789ABCDEF012"));    // 19
  CHECK_FALSE(valid_queue_id("0123456789ABCDEF01234"));  // 21, not ending in B
  CHECK_FALSE(valid_queue_id("0123456789ABCDEF0123BB"));
  CHECK_FALSE(valid_queue_id("0123456789ABCDEF012G"));
  CHECK_FALSE(valid_queue_id("0123456789ABCDEF012/"));
  CHECK_FALSE(valid_queue_id("0123456789ABCDEF0123.tmp"));
  CHECK_FALSE(valid_queue_id(std::string("0123456789ABCDEF012\0", 20)));
}
