#include "conf/cidr.hpp"

#include <doctest/doctest.h>

using xr::conf::Cidr;
using xr::conf::IpAddress;

namespace {

IpAddress ip(const char* s) {
  auto a = IpAddress::parse(s);
  REQUIRE(a.has_value());
  return *a;
}

Cidr net(const char* s) {
  auto c = Cidr::parse(s);
  REQUIRE(c.has_value());
  return *c;
}

}  // namespace

TEST_CASE("IPv4 is stored as IPv4-mapped IPv6 and prints back as IPv4") {
  auto a = ip("192.168.10.7");
  CHECK(a.is_v4());
  CHECK(a.to_string() == "192.168.10.7");
  CHECK(a.bytes[10] == 0xff);
  CHECK(a.bytes[11] == 0xff);
  CHECK(a.bytes[12] == 192);
  CHECK(a.bytes[15] == 7);
  // A v4 client on a dual-stack socket arrives as ::ffff:a.b.c.d: the same address.
  CHECK(ip("::ffff:192.168.10.7") == a);
}

TEST_CASE("IPv6 addresses parse and print in canonical form") {
  auto a = ip("FD00:0010:0:0::1");
  CHECK_FALSE(a.is_v4());
  CHECK(a.to_string() == "fd00:10::1");
  CHECK(ip("::").to_string() == "::");
  CHECK(ip("::1").to_string() == "::1");
}

TEST_CASE("malformed addresses are rejected") {
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4x", "::g", "1.2.3.4/24", " 1.2.3.4",
                          "fd00:::1", "localhost"}) {
    INFO(bad);
    CHECK_FALSE(IpAddress::parse(bad).has_value());
  }
}

TEST_CASE("an IPv4 network is stored in the 128-bit space and prints with its IPv4 prefix") {
  auto c = net("192.168.10.0/24");
  CHECK(c.prefix == 120);
  CHECK(c.to_string() == "192.168.10.0/24");
  CHECK(c.contains(ip("192.168.10.0")));
  CHECK(c.contains(ip("192.168.10.255")));
  CHECK(c.contains(ip("::ffff:192.168.10.77")));
  CHECK_FALSE(c.contains(ip("192.168.11.0")));
  CHECK_FALSE(c.contains(ip("192.168.9.255")));
  CHECK_FALSE(c.contains(ip("fd00::1")));
}

TEST_CASE("a bare address is a single host") {
  auto v4 = net("192.168.20.5");
  CHECK(v4.prefix == 128);
  CHECK(v4.to_string() == "192.168.20.5/32");
  CHECK(v4.contains(ip("192.168.20.5")));
  CHECK_FALSE(v4.contains(ip("192.168.20.6")));
  auto v6 = net("fd00::5");
  CHECK(v6.prefix == 128);
  CHECK(v6.contains(ip("fd00::5")));
  CHECK_FALSE(v6.contains(ip("fd00::4")));
}

TEST_CASE("IPv6 networks, including prefixes that split a byte") {
  auto c = net("fd00:10::/64");
  CHECK(c.to_string() == "fd00:10::/64");
  CHECK(c.contains(ip("fd00:10::1")));
  CHECK(c.contains(ip("fd00:10:0:0:ffff:ffff:ffff:ffff")));
  CHECK_FALSE(c.contains(ip("fd00:10:0:1::1")));
  CHECK_FALSE(c.contains(ip("192.168.1.1")));
  auto odd = net("2001:db8:8000::/33");
  CHECK(odd.contains(ip("2001:db8:ffff::1")));
  CHECK_FALSE(odd.contains(ip("2001:db8:7fff::1")));
}

TEST_CASE("/0 networks: the IPv4 one holds only IPv4, the IPv6 one everything") {
  auto any4 = net("0.0.0.0/0");
  CHECK(any4.prefix == 96);
  CHECK(any4.to_string() == "0.0.0.0/0");
  CHECK(any4.contains(ip("203.0.113.9")));
  CHECK_FALSE(any4.contains(ip("fd00::1")));
  auto any6 = net("::/0");
  CHECK(any6.contains(ip("fd00::1")));
  CHECK(any6.contains(ip("203.0.113.9")));
}

TEST_CASE("odd IPv4 prefixes") {
  auto c = net("10.0.0.0/9");
  CHECK(c.contains(ip("10.127.255.255")));
  CHECK_FALSE(c.contains(ip("10.128.0.0")));
  CHECK(net("10.1.2.3/32").contains(ip("10.1.2.3")));
}

TEST_CASE("host bits below the prefix are an error that suggests the network") {
  std::string error;
  CHECK_FALSE(Cidr::parse("192.168.10.1/24", &error).has_value());
  CHECK(error.find("did you mean 192.168.10.0/24?") != std::string::npos);
  CHECK(error.find("/32") != std::string::npos);
  CHECK_FALSE(Cidr::parse("fd00:10::1/64", &error).has_value());
  CHECK(error.find("did you mean fd00:10::/64?") != std::string::npos);
}

TEST_CASE("bad prefixes and addresses are errors with a hint") {
  std::string error;
  CHECK_FALSE(Cidr::parse("192.168.10.0/33", &error).has_value());
  CHECK(error.find("0..32") != std::string::npos);
  CHECK_FALSE(Cidr::parse("fd00::/129", &error).has_value());
  CHECK(error.find("0..128") != std::string::npos);
  for (const char* bad : {"192.168.10.0/", "192.168.10.0/-1", "192.168.10.0/2x", "192.168.10/24", "/24", "", "x"}) {
    INFO(bad);
    error.clear();
    CHECK_FALSE(Cidr::parse(bad, &error).has_value());
    CHECK_FALSE(error.empty());
  }
  // The error pointer is optional.
  CHECK_FALSE(Cidr::parse("1.2.3.4/40").has_value());
}
