#include "tests/unit/spool/spool_test_support.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

using namespace xr::spool;

namespace {
std::string error_of(const Store::Options& o) {
  try {
    Store s(o);
  } catch (const SpoolError& e) {
    return e.what();
  }
  return {};
}
}  // namespace

TEST_CASE("a spool readable by group or others is refused with the chmod that fixes it") {
  xr::test::TempDir tmp;
  const std::string dir = tmp.abs("spool");
  std::filesystem::create_directory(dir);
  ::chmod(dir.c_str(), 0755);
  std::string error = error_of({dir, false, true});
  CHECK_MESSAGE(error.find("chmod 700 " + dir) != std::string::npos, error);
  CHECK(error.find("0755") != std::string::npos);
  ::chmod(dir.c_str(), 0700);
  CHECK(error_of({dir, false, true}).empty());
}

TEST_CASE("a spool owned by another user is refused with the chown that fixes it") {
  xr::test::TempDir tmp;
  std::string dir = tmp.abs("spool");
  std::filesystem::create_directory(dir);
  ::chmod(dir.c_str(), 0700);
  if (::geteuid() == 0)
    REQUIRE(::chown(dir.c_str(), 65534, 65534) == 0);
  else
    dir = "/usr";  // root's
  std::string error = error_of({dir, false, false});
  CHECK_MESSAGE(error.find("is owned by") != std::string::npos, error);
  CHECK(error.find("chown") != std::string::npos);
}

TEST_CASE("without create a missing spool is an error, and nothing is made") {
  xr::test::TempDir tmp;
  const std::string dir = tmp.abs("nowhere/spool");
  std::string error = error_of({dir, false, false});
  CHECK(error.find(dir) != std::string::npos);
  CHECK(error.find("spool.dir") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(tmp.abs("nowhere")));
  tmp.write("plain", "x");
  CHECK(error_of({tmp.abs("plain"), false, false}).find("not a directory") != std::string::npos);
}

TEST_CASE("a second exclusive store on the same spool is refused, naming the lock file") {
  xr::test::TempDir tmp;
  const std::string dir = tmp.abs("spool");
  {
    Store first(Store::Options{dir, true, true});
    std::string error = error_of({dir, true, true});
    CHECK_MESSAGE(error.find(dir + "/lock") != std::string::npos, error);
    CHECK(error.find("pid " + std::to_string(::getpid())) != std::string::npos);
    // The CLI does not take the lock, so it works beside the relay.
    CHECK(error_of({dir, false, false}).empty());
  }
  CHECK(error_of({dir, true, true}).empty());  // released with the first
}

TEST_CASE("free_bytes reports the file system's free space") {
  test::Fixture f;
  CHECK(f.store.free_bytes() > 0);
  CHECK(f.store.dir() == f.dir);
}

TEST_CASE("refusal_reason: max_size and min_free") {
  CHECK_FALSE(refusal_reason(100, 50, 1'000'000, 1000, 1000));
  auto full = refusal_reason(990, 20, 1'000'000, 1000, 1000);
  REQUIRE(full);
  CHECK(full->find("spool.max_size 1000 reached (990 queued") != std::string::npos);
  CHECK(refusal_reason(1000, 0, 1'000'000, 1000, 1000) == std::nullopt);
  CHECK(refusal_reason(1001, 0, 1'000'000, 1000, 1000));
  auto low = refusal_reason(0, 100, 1050, 1'000'000, 1000);
  REQUIRE(low);
  CHECK(low->find("spool.min_free 1000") != std::string::npos);
  CHECK(low->find("1050 bytes free") != std::string::npos);
  CHECK_FALSE(refusal_reason(0, 50, 1050, 1'000'000, 1000));
  // No overflow with huge numbers.
  CHECK(refusal_reason(~0ULL, ~0ULL, 0, ~0ULL - 1, 0));
}
