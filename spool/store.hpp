// The on-disk queue. Plain POSIX file operations, no Asio: the relay calls the
// blocking parts (commit, remove) from its blocking pool, the CLI calls them
// directly.
//
// Layout under the spool directory (created 0700, must be owned by us):
//   lock          held (flock) by the one relay that delivers from this spool
//   tmp/<id>      a message being received; never delivered; removed at start
//   queue/<id>    a queued message, complete and durable; never modified:
//                   line 1: "XRSPOOL1 <envelope bytes> <message bytes>\n"
//                           (fixed width: 10 and 20 digits, so the message
//                           size can be written in place when it is known)
//                   then the envelope (envelope.hpp JSON), then "\n",
//                   then the message exactly as it goes upstream (CRLF lines,
//                   not dot-stuffed)
//   state/<id>    delivery_state.hpp JSON; absent = never tried; replaced by
//                 rename; may outlive its queue file for a moment (ignored)
//
// Acceptance: tmp file, write, fsync, rename into queue/, fsync queue/.
// Removal: unlink queue/<id>, fsync queue/ (the entry is gone), then unlink
// state/<id>. Exclusive access to one entry (delivery, queue delete/hold/...)
// is an flock on its queue file: held by the relay for a whole delivery
// attempt, taken by the CLI for its change.
#pragma once

#include "spool/delivery_state.hpp"
#include "spool/envelope.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace xr::spool {

// Everything that goes wrong with the spool's files. what() names the path,
// the system's reason and, where there is one, the fix.
class SpoolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Writer::commit() found queue/<id> already there and left it alone: an id
// is queued at most once. For a DSN id (dsn_id_for) it means the DSN is
// already queued, which recovery may treat as done.
class SpoolEntryExists : public SpoolError {
 public:
  using SpoolError::SpoolError;
};

// A queue entry as read from disk.
struct Entry {
  Envelope envelope;
  DeliveryState state;
  std::uint64_t message_size = 0;  // bytes of the message (not the header)
  std::uint64_t file_size = 0;     // bytes on disk (header + message)
};

class Store;

// A message being received. Bytes go straight to the tmp file (never held
// whole in memory); commit() makes it a queue entry. Destroying an
// uncommitted writer removes the tmp file.
class Writer {
 public:
  Writer(Writer&&) noexcept;
  Writer& operator=(Writer&&) noexcept;
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  ~Writer();

  // Appends message bytes (buffered; written in large blocks). Throws
  // SpoolError (disk full, I/O error): the message is then lost to the spool
  // and the device must hear a 4xx.
  void write(std::string_view bytes);
  std::uint64_t size() const;  // message bytes so far
  const std::string& id() const;

  // Writes the sizes into the header, fsyncs the file, renames it into
  // queue/ (never replacing an existing entry) and fsyncs queue/. Blocking:
  // call it off the I/O threads. After it returns the message is durable; on
  // SpoolError nothing was queued. Returns the entry's size on disk.
  std::uint64_t commit();
  // Drops the message (RSET, aborted DATA, refused for space).
  void abort();

 private:
  friend class Store;
  struct Impl;
  explicit Writer(std::unique_ptr<Impl>);
  std::unique_ptr<Impl> impl_;
};

// Exclusive access to one queue entry (flock on its queue file), with the
// message bytes to read. Released when destroyed.
class LockedEntry {
 public:
  LockedEntry(LockedEntry&&) noexcept;
  LockedEntry& operator=(LockedEntry&&) noexcept;
  LockedEntry(const LockedEntry&) = delete;
  LockedEntry& operator=(const LockedEntry&) = delete;
  ~LockedEntry();

  const Entry& entry() const;
  Entry& entry();
  // Reads the next message bytes into `buf` from where the last read ended;
  // returns how many (0 at the end). Throws SpoolError on an I/O error.
  std::size_t read(char* buf, std::size_t len);
  void rewind();  // back to the message's first byte
  // The message's header block (up to and including the empty line, or the
  // first `limit` bytes of the message when there is none), for a DSN.
  std::string header_block(std::size_t limit = 256 * 1024);

 private:
  friend class Store;
  struct Impl;
  explicit LockedEntry(std::unique_ptr<Impl>);
  std::unique_ptr<Impl> impl_;
};

class Store {
 public:
  struct Options {
    std::string dir;
    // Take the relay's lock: a second relay on the same spool is refused
    // (SpoolError naming the lock file). The CLI does not take it.
    bool exclusive = false;
    // Create the directory (and its parents) 0700 when missing. The CLI does
    // not: a wrong --config must not make a spool somewhere.
    bool create = true;
  };

  // Creates missing directories (0700), checks that the spool directory is a
  // directory owned by this user, not accessible by others, and writable.
  // Throws SpoolError with the fix ("chown xoauth2-relay ...", "chmod 700 ...").
  explicit Store(Options opts);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& dir() const;

  // --- acceptance -------------------------------------------------------------
  // Starts a message with this envelope (its id is envelope.id; make one with
  // new_queue_id()). Throws SpoolError when the tmp file cannot be created.
  Writer begin(const Envelope& envelope);

  // --- recovery and listing -----------------------------------------------------
  struct Scan {
    std::vector<Entry> entries;                // sorted by id (= by age)
    std::vector<std::string> unreadable;       // ids whose files are damaged: moved to corrupt/, logged
    std::size_t temp_removed = 0;              // tmp/ files removed (only with remove_temp)
    std::size_t orphan_states_removed = 0;     // state files without a queue file (only with remove_temp)
  };
  // Reads every entry. With remove_temp (the relay at start, holding the
  // lock) also removes tmp/ files and orphaned state files. A damaged entry
  // (bad header, size mismatch, unreadable JSON) is moved to corrupt/<id>
  // only with remove_temp; the CLI just reports it.
  Scan scan(bool remove_temp);
  // One entry; nullopt when it is not (or no longer) queued.
  std::optional<Entry> load(std::string_view id);

  // --- exclusive access ----------------------------------------------------------
  // Locks the entry. nullopt when it is gone. With wait=false also nullopt
  // (and *busy set) when someone else holds the lock; with wait=true waits
  // up to `wait_ms` for it (then the same). The entry (state included) is read
  // after the lock is taken, so it is current.
  std::optional<LockedEntry> lock(std::string_view id, int wait_ms = 0, bool* busy = nullptr);

  // Replaces the entry's state file (tmp + fsync + rename + fsync state/).
  void write_state(LockedEntry& e, const DeliveryState& s);
  // Removes the entry: queue file unlinked and queue/ fsynced (from then on
  // it will never be delivered), then its state file. Blocking.
  void remove(LockedEntry& e);

  // --- space ---------------------------------------------------------------------
  // Free bytes on the spool's file system for an unprivileged writer (statvfs
  // f_bavail * f_frsize).
  std::uint64_t free_bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Whether the spool may take a message of `incoming` bytes now, given what is
// queued: nullopt if yes, else the reason for the log and /readyz
// ("spool.max_size 2147483648 reached (2147000000 queued)", "... min_free ...").
// Pure, for tests; the relay feeds it its own counters and free_bytes().
std::optional<std::string> refusal_reason(std::uint64_t queued_bytes, std::uint64_t incoming,
                                          std::uint64_t free_bytes, std::uint64_t max_size,
                                          std::uint64_t min_free);

}  // namespace xr::spool
