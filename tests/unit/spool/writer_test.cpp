#include "tests/unit/spool/spool_test_support.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <sys/stat.h>

using namespace xr::spool;
using xr::spool::test::Fixture;

TEST_CASE("a message streams to tmp/ and commit makes queue/<id> in the documented format") {
  Fixture f;
  auto env = test::envelope();
  auto w = f.store.begin(env);
  CHECK(w.id() == env.id);
  const std::string tmp_file = f.path("tmp/" + env.id);
  CHECK(std::filesystem::exists(tmp_file));
  CHECK(test::mode_of(tmp_file) == 0600);

  // 300 KiB in 1000-byte pieces: most of it must be on disk already.
  std::string msg;
  for (int i = 0; i < 300; ++i) {
    std::string piece(1024, static_cast<char>('A' + i % 26));
    msg += piece;
    w.write(piece);
  }
  CHECK(w.size() == msg.size());
  CHECK(std::filesystem::file_size(tmp_file) >= msg.size() - 64 * 1024);
  CHECK_FALSE(std::filesystem::exists(f.path("queue/" + env.id)));

  const std::uint64_t on_disk = w.commit();
  const std::string queued = f.path("queue/" + env.id);
  CHECK_FALSE(std::filesystem::exists(tmp_file));
  REQUIRE(std::filesystem::exists(queued));
  CHECK(test::mode_of(queued) == 0600);
  const std::string env_json = encode_envelope(env);
  const std::string expected =
      fmt::format("XRSPOOL1 {:010} {:020}\n", env_json.size(), msg.size()) + env_json + "\n" + msg;
  const std::string content = test::slurp(queued);
  CHECK(content.substr(0, 41) == expected.substr(0, 41));
  CHECK(content == expected);
  CHECK(on_disk == expected.size());
}

TEST_CASE("a big single write goes straight to the file") {
  Fixture f;
  auto env = test::envelope();
  auto w = f.store.begin(env);
  std::string big(200 * 1024, 'x');
  w.write("small");
  w.write(big);
  CHECK(std::filesystem::file_size(f.path("tmp/" + env.id)) >= big.size());
  w.commit();
  auto e = f.store.load(env.id);
  REQUIRE(e);
  CHECK(e->message_size == big.size() + 5);
}

TEST_CASE("abort and destruction remove the tmp file; nothing is queued") {
  Fixture f;
  auto a = test::envelope();
  auto b = test::envelope();
  {
    auto w = f.store.begin(a);
    w.write(test::message());
    w.abort();
    CHECK_FALSE(std::filesystem::exists(f.path("tmp/" + a.id)));
    CHECK_THROWS_AS(w.write("more"), SpoolError);
    CHECK_THROWS_AS(w.commit(), SpoolError);
  }
  {
    auto w = f.store.begin(b);
    w.write(test::message(100000));
    CHECK(std::filesystem::exists(f.path("tmp/" + b.id)));
    Writer moved = std::move(w);  // the moved-from writer owns nothing
  }
  CHECK(test::count_files(f.path("tmp")) == 0);
  CHECK(test::count_files(f.path("queue")) == 0);
}

TEST_CASE("commit never replaces an existing entry") {
  Fixture f;
  auto env = test::envelope();
  test::queue(f.store, env, "first\r\n");
  const std::string before = test::slurp(f.path("queue/" + env.id));
  auto w = f.store.begin(env);
  w.write("second\r\n");
  CHECK_THROWS_AS(w.commit(), SpoolEntryExists);
  CHECK(test::slurp(f.path("queue/" + env.id)) == before);
  CHECK(test::count_files(f.path("tmp")) == 0);
}

TEST_CASE("begin refuses an unsafe id") {
  Fixture f;
  auto env = test::envelope("../../etc/x");
  CHECK_THROWS_AS(f.store.begin(env), SpoolError);
}

TEST_CASE("directories are 0700 and files 0600 whatever the umask") {
  xr::test::TempDir tmp;
  const mode_t old = ::umask(0);
  const std::string dir = tmp.abs("a/b/spool");
  {
    Store store(Store::Options{dir, false, true});
    test::queue(store, test::envelope(), "x\r\n");
    bool busy = false;
    auto id = store.scan(false).entries.at(0).envelope.id;
    auto e = store.lock(id, 0, &busy);
    REQUIRE(e);
    store.write_state(*e, DeliveryState{});
    CHECK(test::mode_of(dir + "/state/" + id) == 0600);
    CHECK(test::mode_of(dir + "/queue/" + id) == 0600);
  }
  ::umask(old);
  for (const char* d : {"a", "a/b", "a/b/spool", "a/b/spool/tmp", "a/b/spool/queue", "a/b/spool/state"})
    CHECK_MESSAGE(test::mode_of(tmp.abs(d)) == 0700, d);
}
