#include "conf/mail_address.hpp"

#include <algorithm>

namespace xr::conf {
namespace {

bool fail(std::string* why, const char* text) {
  if (why) *why = text;
  return false;
}

bool bad_char(char c) {
  return static_cast<unsigned char>(c) <= ' ' || c == 0x7f || c == '<' || c == '>' || c == ',' || c == '"' ||
         c == '(' || c == ')' || c == '[' || c == ']' || c == ';' || c == '\\';
}

bool check_domain(std::string_view domain, std::string* why) {
  if (domain.empty()) return fail(why, "nothing after '@'; expected a domain such as contoso.com");
  if (domain.front() == '.' || domain.back() == '.' || domain.find("..") != std::string_view::npos)
    return fail(why, "the domain has an empty label (a stray '.')");
  return true;
}

}  // namespace

bool is_mailbox(std::string_view text, std::string* why) {
  if (text.empty()) return fail(why, "empty; expected an address such as scanner@contoso.com");
  if (std::count(text.begin(), text.end(), '@') != 1)
    return fail(why, "expected exactly one '@', as in scanner@contoso.com");
  if (std::any_of(text.begin(), text.end(), bad_char))
    return fail(why, "contains a space, angle bracket or other character not allowed here; write the bare "
                     "address, as in scanner@contoso.com");
  auto at = text.find('@');
  if (text.substr(0, at) == "*") return fail(why, "\"*@domain\" is only allowed in `senders`; write one mailbox here");
  if (at == 0) return fail(why, "nothing before '@'; expected an address such as scanner@contoso.com");
  return check_domain(text.substr(at + 1), why);
}

bool is_sender_pattern(std::string_view text, std::string* why) {
  if (text.size() >= 2 && text.substr(0, 2) == "*@") {
    std::string_view domain = text.substr(2);
    if (std::any_of(domain.begin(), domain.end(), bad_char) || domain.find('@') != std::string_view::npos ||
        domain.find('*') != std::string_view::npos)
      return fail(why, "expected \"*@domain\" with a plain domain, as in *@contoso.com");
    return check_domain(domain, why);
  }
  if (text.find('*') != std::string_view::npos)
    return fail(why, "'*' is only allowed as the whole local part, as in *@contoso.com");
  return is_mailbox(text, why);
}

}  // namespace xr::conf
