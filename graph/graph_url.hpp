// Graph request URLs. The mailbox is a path segment: escaped so an address
// holding '/', '?', '#' or '%' cannot point the request (and its token)
// at another resource.
#pragma once

#include <string>
#include <string_view>

namespace xr::graph {

// RFC 3986 path segment: unreserved characters and '@' stay, the rest %XX.
std::string escape_segment(std::string_view s);

std::string send_mail_url(std::string_view endpoint, std::string_view mailbox);  // {endpoint}/v1.0/users/{m}/sendMail
std::string user_url(std::string_view endpoint, std::string_view mailbox);       // {endpoint}/v1.0/users/{m}

}  // namespace xr::graph
