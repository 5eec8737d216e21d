#include "relay/mailbox_slots.hpp"

#include "loopback.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <vector>

using namespace xr::relay;
using namespace std::chrono_literals;
using xr::relay::test::run;

TEST_CASE("keys ignore the mailbox's case") {
  CHECK(MailboxSlots::key("contoso", "imap", "Scanner@Contoso.com") == "contoso/imap/scanner@contoso.com");
}

TEST_CASE("split_key undoes key, with '/' in tenant names and mailboxes") {
  auto k = MailboxSlots::split_key(MailboxSlots::key("eu/contoso", "pop3", "a/b@Contoso.com"));
  CHECK(k.tenant == "eu/contoso");
  CHECK(k.protocol == "pop3");
  CHECK(k.mailbox == "a/b@contoso.com");
}

TEST_CASE("up to the limit at once; the next waits for a release, in arrival order") {
  net::io_context io;
  MailboxSlots slots;
  const auto key = MailboxSlots::key("t", "smtp", "a@b.c");
  std::vector<std::string> order;
  run(io, [&]() -> net::awaitable<void> {
    using namespace net::experimental::awaitable_operators;
    auto first = co_await slots.acquire(key, 2, 1s);
    auto second = co_await slots.acquire(key, 2, 1s);
    REQUIRE(first);
    REQUIRE(second);
    CHECK(slots.in_use(key) == 2);
    auto waiter = [&](std::string name) -> net::awaitable<void> {
      auto s = co_await slots.acquire(key, 2, 5s);
      order.push_back(name + (s ? "" : " (none)"));
    };
    auto releaser = [&]() -> net::awaitable<void> {
      net::steady_timer t(io, 50ms);
      co_await t.async_wait(net::as_tuple(net::use_awaitable));
      CHECK(slots.waiting() == std::map<std::string, std::size_t>{{key, 2}});
      first.reset();
      CHECK(slots.waiting() == std::map<std::string, std::size_t>{{key, 1}});
      co_await t.async_wait(net::as_tuple(net::use_awaitable));
      second.reset();
    };
    co_await (waiter("w1") && waiter("w2") && releaser());
  }());
  CHECK(order == std::vector<std::string>{"w1", "w2"});
  CHECK(slots.in_use(key) == 0);
  CHECK(slots.waiting().empty());
}

TEST_CASE("a waiter gives up after its timeout and the slot goes to the next one") {
  net::io_context io;
  MailboxSlots slots;
  const auto key = MailboxSlots::key("t", "imap", "a@b.c");
  std::optional<MailboxSlots::Slot> held, late;
  bool early_got = true;
  run(io, [&]() -> net::awaitable<void> {
    using namespace net::experimental::awaitable_operators;
    held = co_await slots.acquire(key, 1, 1s);
    REQUIRE(held);
    auto impatient = [&]() -> net::awaitable<void> { early_got = (co_await slots.acquire(key, 1, 50ms)).has_value(); };
    auto patient = [&]() -> net::awaitable<void> { late = co_await slots.acquire(key, 1, 5s); };
    auto releaser = [&]() -> net::awaitable<void> {
      net::steady_timer t(io, 200ms);
      co_await t.async_wait(net::as_tuple(net::use_awaitable));
      // The impatient one gave up at 50 ms: only the patient one waits.
      CHECK(slots.waiting() == std::map<std::string, std::size_t>{{key, 1}});
      held.reset();
    };
    co_await (impatient() && patient() && releaser());
  }());
  CHECK_FALSE(early_got);
  CHECK(late.has_value());
  CHECK(slots.in_use(key) == 1);
  CHECK(slots.waiting().empty());
  late.reset();
  CHECK(slots.in_use(key) == 0);
}
