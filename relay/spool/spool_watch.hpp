// Tells the delivery engine when something outside it changed a queue
// entry: `xoauth2-relay queue hold/release/flush/delete` replace state files
// or unlink queue files while the relay runs. inotify on queue/ and state/;
// the engine re-reads the entry (the files are the truth).
#pragma once

#include "relay/asio.hpp"

#include <functional>
#include <memory>
#include <string>

namespace xr::relay {

class SpoolWatch {
 public:
  using OnChange = std::function<void(const std::string& id)>;
  using OnOverflow = std::function<void()>;  // events were lost: rescan everything

  // Throws std::system_error when inotify cannot be set up.
  SpoolWatch(net::any_io_executor ex, const std::string& dir, OnChange on_change, OnOverflow on_overflow);
  ~SpoolWatch();
  void stop();

 private:
  net::awaitable<void> run();
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace xr::relay
