// The parts of Store, Writer and LockedEntry shared between their source
// files (internal to spool/). Writers and locked entries keep the directory
// descriptors alive through a shared_ptr, so they stay valid even if the
// Store that made them is destroyed first.
#pragma once

#include "spool/posix.hpp"
#include "spool/store.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace xr::spool {

struct SpoolDirs {
  std::string root;  // the spool directory as configured (for messages)
  posix::Fd root_fd, tmp, queue, state;
  std::string path(std::string_view sub, std::string_view name) const {
    std::string p = root;
    if (p.empty() || p.back() != '/') p += '/';
    p += sub;
    if (!name.empty()) {
      p += '/';
      p += name;
    }
    return p;
  }
};

struct Writer::Impl {
  std::shared_ptr<const SpoolDirs> dirs;
  std::string id;
  posix::Fd fd;            // tmp/<id>, open until committed or dropped
  std::string buffer;      // at most kWriteBuffer bytes not yet written
  std::uint64_t header_size = 0;   // header line + envelope + "\n"
  std::uint64_t envelope_size = 0;
  std::uint64_t message_size = 0;
  bool finished = false;   // committed or dropped: no more writes

  void flush();
  void discard() noexcept;  // closes and unlinks the tmp file
};

struct LockedEntry::Impl {
  std::shared_ptr<const SpoolDirs> dirs;
  posix::Fd fd;              // queue/<id>, flock'ed LOCK_EX
  Entry entry;
  std::uint64_t data_offset = 0;  // first message byte in the file
  std::uint64_t pos = 0;          // next message byte read() returns
  bool removed = false;           // Store::remove() ran: no state writes any more
};

struct Store::Impl {
  std::shared_ptr<SpoolDirs> dirs;
  posix::Fd lock;  // the relay's lock file when exclusive
};

// Writes bigger than this go to the file at once; smaller ones are gathered.
constexpr std::size_t kWriteBuffer = 64 * 1024;

}  // namespace xr::spool
