// Strict field readers for the spool's JSON files (internal to spool/). A
// field of the wrong type is an error, not a default: a damaged file must not
// turn into a message with an empty recipient or a reset attempt counter.
// Unknown fields are ignored, so a later version may add some.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <string>

namespace xr::spool::json_fields {

class Reader {
 public:
  explicit Reader(const boost::json::object& o) : o_(o) {}

  // Each returns false (and sets error()) when the field is present with the
  // wrong type, or absent while `required`.
  bool str(const char* key, std::string& out, bool required = false);
  bool i64(const char* key, std::int64_t& out, bool required = false);
  bool u32(const char* key, std::uint32_t& out, bool required = false);
  bool boolean(const char* key, bool& out, bool required = false);
  // The array under `key` (nullptr and an error when it is not an array).
  const boost::json::array* array(const char* key, bool required = false);

  const std::string& error() const { return error_; }
  bool fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
    return false;
  }

 private:
  const boost::json::value* find(const char* key, bool required);
  const boost::json::object& o_;
  std::string error_;
};

// Parses `text` as one JSON object; false (and `error` says why) when it is not.
bool parse_object(std::string_view text, boost::json::value& doc, std::string& error);

}  // namespace xr::spool::json_fields
