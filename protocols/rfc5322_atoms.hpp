// The RFC 5322 pieces every address reader here needs alike (the From
// check, the Bcc rule): atext, dot-atoms, and quoting a local part.
#pragma once

#include <string>
#include <string_view>

namespace xr::smtp {

// RFC 5322 3.2.3 atext; bytes from 0x80 are UTF-8 (RFC 6532).
bool is_atext(unsigned char c);

// atext runs joined by single dots, not starting or ending with one.
bool is_dot_atom(std::string_view s);

// `s` as a quoted-string: in quotes, with '"' and '\' escaped.
std::string quote(std::string_view s);

}  // namespace xr::smtp
