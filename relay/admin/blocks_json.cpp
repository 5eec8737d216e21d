#include "relay/admin/blocks_json.hpp"

#include "relay/util/utc_time.hpp"

#include <boost/json.hpp>

namespace xr::relay {

std::string blocks_json(const std::vector<auth::ThrottleBlock>& blocks, std::chrono::system_clock::time_point now) {
  boost::json::array list;
  for (const auto& b : blocks) {
    boost::json::object o;
    o["scope"] = auth::to_string(b.scope);
    o["key"] = b.key;  // user names are the client's bytes: the serializer escapes them
    o["until"] = utc_seconds(now + b.remaining);
    o["failures"] = b.failures;
    list.push_back(std::move(o));
  }
  boost::json::object root;
  root["blocks"] = std::move(list);
  return boost::json::serialize(root) + "\n";
}

}  // namespace xr::relay
