#include "relay/admin/blocks_json.hpp"

#include <boost/json.hpp>

#include <ctime>

namespace xr::relay {
namespace {

std::string rfc3339_utc(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(std::chrono::floor<std::chrono::seconds>(t));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

std::string blocks_json(const std::vector<auth::ThrottleBlock>& blocks, std::chrono::system_clock::time_point now) {
  boost::json::array list;
  for (const auto& b : blocks) {
    boost::json::object o;
    o["scope"] = auth::to_string(b.scope);
    o["key"] = b.key;  // user names are the client's bytes: the serializer escapes them
    o["until"] = rfc3339_utc(now + b.remaining);
    o["failures"] = b.failures;
    list.push_back(std::move(o));
  }
  boost::json::object root;
  root["blocks"] = std::move(list);
  return boost::json::serialize(root) + "\n";
}

}  // namespace xr::relay
