#include "relay/mailbox_slots.hpp"

#include "relay/one_shot.hpp"

#include <cctype>

namespace xr::relay {

MailboxSlots::Slot& MailboxSlots::Slot::operator=(Slot&& o) noexcept {
  if (this != &o) {
    if (owner_) owner_->release(key_);
    owner_ = std::exchange(o.owner_, nullptr);
    key_ = std::move(o.key_);
  }
  return *this;
}

MailboxSlots::Slot::~Slot() {
  if (owner_) owner_->release(key_);
}

std::string MailboxSlots::key(const std::string& tenant, const char* protocol, const std::string& mailbox) {
  std::string k = tenant + "/" + protocol + "/";
  for (char c : mailbox) k += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return k;
}

MailboxSlots::KeyParts MailboxSlots::split_key(const std::string& key) {
  // The protocol is one of a few fixed names: a '/' in a tenant name or a
  // mailbox is fine unless it spells "/smtp/", "/imap/" or "/pop3/".
  for (const char* p : {"smtp", "imap", "pop3"}) {
    const std::string mid = std::string("/") + p + "/";
    if (auto at = key.find(mid); at != std::string::npos)
      return {key.substr(0, at), p, key.substr(at + mid.size())};
  }
  return {key, "", ""};
}

bool MailboxSlots::take_or_queue(const std::string& key, std::size_t limit, Taker taker) {
  std::lock_guard g(mutex_);
  auto& e = entries_[key];
  if (e.used < limit && e.waiters.empty()) {
    ++e.used;
    return true;
  }
  e.waiters.push_back(std::move(taker));
  ++e.waiting;
  return false;
}

std::optional<MailboxSlots::Slot> MailboxSlots::try_acquire(const std::string& key, std::size_t limit) {
  std::lock_guard g(mutex_);
  auto& e = entries_[key];
  if (e.used >= limit || e.waiting > 0) return std::nullopt;
  ++e.used;
  return Slot(this, key);
}

void MailboxSlots::release(const std::string& key) {
  std::unique_lock lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  auto& e = it->second;
  // Hand the slot to the first waiter still waiting; the count stays.
  while (!e.waiters.empty()) {
    auto taker = std::move(e.waiters.front());
    e.waiters.pop_front();
    if (taker()) {
      --e.waiting;
      return;
    }
  }
  if (--e.used == 0) entries_.erase(it);
}

std::size_t MailboxSlots::in_use(const std::string& key) const {
  std::lock_guard g(mutex_);
  auto it = entries_.find(key);
  return it == entries_.end() ? 0 : it->second.used;
}

void MailboxSlots::gave_up(const std::string& key) {
  std::lock_guard g(mutex_);
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.waiting > 0) --it->second.waiting;
}

std::map<std::string, std::size_t> MailboxSlots::waiting() const {
  std::lock_guard g(mutex_);
  std::map<std::string, std::size_t> out;
  for (const auto& [k, e] : entries_)
    if (e.waiting > 0) out[k] = e.waiting;
  return out;
}

net::awaitable<std::optional<MailboxSlots::Slot>> MailboxSlots::acquire(std::string key, std::size_t limit,
                                                                        std::chrono::steady_clock::duration timeout) {
  // The timeout lives inside the operation (not an `||` race) so the one
  // result delivered says truthfully whether this session now holds a slot.
  auto ex = co_await net::this_coro::executor;
  bool granted = co_await net::async_initiate<decltype(net::use_awaitable), void(bool)>(
      [this, &key, limit, ex, timeout](auto handler) {
        auto pending = std::make_shared<OneShot<decltype(handler), bool>>(std::move(handler));
        auto timer = std::make_shared<net::steady_timer>(ex, timeout);
        auto taker = [pending, timer] {
          if (!pending->complete(true)) return false;  // it gave up already: next waiter
          net::post(timer->get_executor(), [timer] { timer->cancel(); });
          return true;
        };
        if (take_or_queue(key, limit, taker)) {
          pending->complete(true);
          return;
        }
        timer->async_wait([this, key, pending, timer](const boost::system::error_code& ec) {
          if (!ec && pending->complete(false)) gave_up(key);
        });
      },
      net::use_awaitable);
  if (granted) co_return Slot(this, key);
  co_return std::nullopt;
}

}  // namespace xr::relay
