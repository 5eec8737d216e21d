// The mailbox is one path segment: nothing in it can change the resource.
#include "graph/graph_url.hpp"

#include <doctest/doctest.h>

using namespace xr::graph;

TEST_CASE("graph url: sendMail and user URLs") {
  CHECK(send_mail_url("https://graph.microsoft.com", "scan@contoso.com") ==
        "https://graph.microsoft.com/v1.0/users/scan@contoso.com/sendMail");
  CHECK(user_url("https://graph.microsoft.us/", "scan@contoso.com") ==
        "https://graph.microsoft.us/v1.0/users/scan@contoso.com");
}

TEST_CASE("graph url: path characters in the mailbox are escaped") {
  CHECK(escape_segment("a/b?c#d%e f+g@h") == "a%2Fb%3Fc%23d%25e%20f%2Bg@h");
  CHECK(escape_segment("../admin") == "..%2Fadmin");
  CHECK(escape_segment("o'neil@x.com") == "o%27neil@x.com");
}

TEST_CASE("graph url: a dot segment cannot climb out of /users/") {
  CHECK(escape_segment("..") == "%2E%2E");
  CHECK(escape_segment(".") == "%2E");
  CHECK(escape_segment("a..b") == "a..b");
}
