// Receiving a message into tmp/ and committing it into queue/: the only way
// an entry comes to exist. Order: write, size into the header, fsync the
// file, rename without replacing, fsync queue/. Only then is it acknowledged.
#include "spool/entry_file.hpp"
#include "spool/store_impl.hpp"

#include <fcntl.h>
#include <stdio.h>  // renameat2 (glibc >= 2.28)
#include <unistd.h>

#include <cerrno>

namespace xr::spool {

void Writer::Impl::flush() {
  if (buffer.empty()) return;
  posix::write_all(fd.get(), buffer.data(), buffer.size(), dirs->path("tmp", id));
  buffer.clear();
}

void Writer::Impl::discard() noexcept {
  if (fd) {
    fd.reset();
    // Nothing depends on this unlink being durable: tmp/ is emptied at start.
    ::unlinkat(dirs->tmp.get(), id.c_str(), 0);
  }
  buffer.clear();
  buffer.shrink_to_fit();
  finished = true;
}

Writer::Writer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Writer::Writer(Writer&&) noexcept = default;
Writer& Writer::operator=(Writer&& o) noexcept {
  if (this != &o) {
    if (impl_) impl_->discard();
    impl_ = std::move(o.impl_);
  }
  return *this;
}
Writer::~Writer() {
  if (impl_) impl_->discard();
}

void Writer::write(std::string_view bytes) {
  if (!impl_ || impl_->finished) throw SpoolError("spool: write to a message already committed or dropped");
  auto& w = *impl_;
  if (w.buffer.size() + bytes.size() > kWriteBuffer) {
    w.flush();
    if (bytes.size() >= kWriteBuffer) {
      posix::write_all(w.fd.get(), bytes.data(), bytes.size(), w.dirs->path("tmp", w.id));
      w.message_size += bytes.size();
      return;
    }
  }
  w.buffer.append(bytes);
  w.message_size += bytes.size();
}

std::uint64_t Writer::size() const { return impl_ ? impl_->message_size : 0; }

const std::string& Writer::id() const {
  static const std::string none;
  return impl_ ? impl_->id : none;
}

namespace {

// Moves tmp/<id> to queue/<id>, failing with EEXIST rather than replacing an
// entry. File systems without RENAME_NOREPLACE get link + unlink, which has
// the same guarantee (link never replaces); a crash between the two leaves a
// tmp/ name that the next start removes.
void rename_no_replace(const SpoolDirs& d, const std::string& id) {
  auto exists = [&] {
    throw SpoolEntryExists("spool: " + d.path("queue", id) + " already exists; an id is queued once (left as it is)");
  };
  if (::renameat2(d.tmp.get(), id.c_str(), d.queue.get(), id.c_str(), RENAME_NOREPLACE) == 0) return;
  if (errno == EEXIST) exists();
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
    posix::fail("cannot move " + d.path("tmp", id) + " to", d.path("queue", id), errno);
  if (::linkat(d.tmp.get(), id.c_str(), d.queue.get(), id.c_str(), 0) != 0) {
    if (errno == EEXIST) exists();
    posix::fail("cannot link " + d.path("tmp", id) + " to", d.path("queue", id), errno);
  }
  ::unlinkat(d.tmp.get(), id.c_str(), 0);
}

}  // namespace

std::uint64_t Writer::commit() {
  if (!impl_ || impl_->finished) throw SpoolError("spool: commit of a message already committed or dropped");
  auto& w = *impl_;
  const std::string tmp_path = w.dirs->path("tmp", w.id);
  const std::string queue_path = w.dirs->path("queue", w.id);
  try {
    w.flush();
    const std::string head = header_line(w.envelope_size, w.message_size);
    posix::pwrite_all(w.fd.get(), head.data(), head.size(), 0, tmp_path);
    posix::fsync_fd(w.fd.get(), tmp_path);
    rename_no_replace(*w.dirs, w.id);
  } catch (...) {
    w.discard();
    throw;
  }
  w.fd.reset();
  w.finished = true;
  try {
    posix::fsync_fd(w.dirs->queue.get(), w.dirs->path("queue", ""));
  } catch (...) {
    // Not durable, so not acknowledged: take it back, or the device's retry
    // and this entry would both be delivered.
    ::unlinkat(w.dirs->queue.get(), w.id.c_str(), 0);
    throw;
  }
  return w.header_size + w.message_size;
}

void Writer::abort() {
  if (impl_) impl_->discard();
}

}  // namespace xr::spool
