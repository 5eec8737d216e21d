#include "spool/json_fields.hpp"

#include <limits>

namespace xr::spool::json_fields {

const boost::json::value* Reader::find(const char* key, bool required) {
  auto it = o_.find(key);
  if (it == o_.end()) {
    if (required) fail(std::string("missing field \"") + key + "\"");
    return nullptr;
  }
  return &it->value();
}

bool Reader::str(const char* key, std::string& out, bool required) {
  const auto* v = find(key, required);
  if (!v) return !required;
  if (!v->is_string()) return fail(std::string("field \"") + key + "\" is not a string");
  out.assign(v->as_string().data(), v->as_string().size());
  return true;
}

bool Reader::i64(const char* key, std::int64_t& out, bool required) {
  const auto* v = find(key, required);
  if (!v) return !required;
  if (v->is_int64()) {
    out = v->as_int64();
    return true;
  }
  if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    out = static_cast<std::int64_t>(v->as_uint64());
    return true;
  }
  return fail(std::string("field \"") + key + "\" is not an integer");
}

bool Reader::u32(const char* key, std::uint32_t& out, bool required) {
  std::int64_t wide = out;
  if (!i64(key, wide, required)) return false;
  if (wide < 0 || wide > std::numeric_limits<std::uint32_t>::max())
    return fail(std::string("field \"") + key + "\" is out of range");
  out = static_cast<std::uint32_t>(wide);
  return true;
}

bool Reader::boolean(const char* key, bool& out, bool required) {
  const auto* v = find(key, required);
  if (!v) return !required;
  if (!v->is_bool()) return fail(std::string("field \"") + key + "\" is not true/false");
  out = v->as_bool();
  return true;
}

const boost::json::array* Reader::array(const char* key, bool required) {
  const auto* v = find(key, required);
  if (!v) return nullptr;
  if (!v->is_array()) {
    fail(std::string("field \"") + key + "\" is not an array");
    return nullptr;
  }
  return &v->as_array();
}

bool parse_object(std::string_view text, boost::json::value& doc, std::string& error) {
  boost::system::error_code ec;
  doc = boost::json::parse(text, ec);
  if (ec) {
    error = "not JSON: " + ec.message();
    return false;
  }
  if (!doc.is_object()) {
    error = "not a JSON object";
    return false;
  }
  return true;
}

}  // namespace xr::spool::json_fields
