// Small RFC 5322 text helpers for the DSN builder (internal to spool/):
// dates, header lookup with unfolding, folding, and line-length repair.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xr::spool::mail_text {

constexpr std::size_t kMaxLine = 998;  // RFC 5322 2.1.1, without CRLF
constexpr std::size_t kFoldAt = 78;    // the recommended width

// "Thu, 01 Jan 2026 10:00:00 +0000" (UTC, English names whatever the locale).
std::string rfc5322_date(std::int64_t unix_ms);
// The unfolded value of the first `name` field in a header block (without the
// leading whitespace), or nullopt.
std::optional<std::string> header_value(std::string_view headers, std::string_view name);
// CR and LF become spaces: a value from outside must not start a new line.
std::string one_line(std::string_view s);
// "Name: value" folded at spaces near kFoldAt (never over kMaxLine), each
// line ended by CRLF.
std::string fold_field(std::string_view name, std::string_view value);
// Text wrapped at spaces near kFoldAt, continuation lines prefixed by
// `indent`; each line ended by CRLF.
std::string wrap(std::string_view text, std::string_view indent = "");
// Any line ends -> CRLF; lines over kMaxLine split (continued with a space,
// which keeps a header line a header line); trailing empty lines dropped.
std::string crlf_lines(std::string_view text);
bool is_ascii(std::string_view s);

}  // namespace xr::spool::mail_text
