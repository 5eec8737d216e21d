// The address in a From: field (RFC 5322 3.4, 3.6.2), parsed the way a mail
// reader would, so that nothing a display name, a comment, a quoted string or
// a second address holds can pass for the sender. Only a single mailbox
// counts: a list, a group or anything unparsable is reported as such and
// never guessed at.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace xr::smtp {

struct FromAddress {
  enum class Kind {
    one,       // exactly one mailbox: `address`
    none,      // an empty field, or `<>`
    several,   // a mailbox list (commas) or a group ("name: a@b, c@d;")
    invalid,   // not RFC 5322 syntax (unbalanced quotes or comments, stray specials)
  };
  Kind kind = Kind::invalid;
  // local@domain; a quoted local part stays quoted unless it is a plain
  // dot-atom inside the quotes (`"a"@b` -> a@b).
  std::string address;
  // With `Name <addr>`: the offset of `<` in the value, so a rewrite can keep
  // the display name. npos for a bare addr-spec.
  std::size_t angle = std::string_view::npos;
};

// `value` is the field body after "From:", unfolded (CRLFs removed).
FromAddress parse_from_address(std::string_view value);

}  // namespace xr::smtp
