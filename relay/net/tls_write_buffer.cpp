#include "relay/net/tls_write_buffer.hpp"

#include <openssl/bio.h>

namespace xr::relay {
namespace {

int buffer_write(BIO* b, const char* data, std::size_t n, std::size_t* written) {
  BIO_clear_retry_flags(b);
  auto* buf = static_cast<TlsWriteBuffer*>(BIO_get_data(b));
  if (!buf->append(data, n)) {
    BIO_set_retry_write(b);
    *written = 0;
    return 0;
  }
  *written = n;
  return 1;
}

long buffer_ctrl(BIO* b, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;  // the connection writes the bytes out after each call into OpenSSL
    case BIO_CTRL_WPENDING: return static_cast<long>(static_cast<TlsWriteBuffer*>(BIO_get_data(b))->unsent().size());
    default: return 0;              // nothing else applies (no kTLS, no datagrams)
  }
}

int buffer_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

const BIO_METHOD* method() {
  // Made once; OpenSSL's method tables are read-only after set-up.
  static BIO_METHOD* const m = [] {
    BIO_METHOD* made = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "xoauth2-relay TLS write buffer");
    BIO_meth_set_write_ex(made, buffer_write);
    BIO_meth_set_ctrl(made, buffer_ctrl);
    BIO_meth_set_create(made, buffer_create);
    return made;
  }();
  return m;
}

}  // namespace

bio_st* TlsWriteBuffer::make_bio() {
  BIO* b = BIO_new(method());
  if (b) BIO_set_data(b, this);
  return b;
}

bool TlsWriteBuffer::append(const char* data, std::size_t n) {
  if (!empty() && bytes_.size() - sent_ + n > kCap) return false;
  // A full-size record starts a bulk write (DATA, a FETCH): room for a
  // 64 KiB write's records at once, instead of growing (and copying) twice.
  if (bytes_.capacity() < kBulkReserve && n >= 16 * 1024) bytes_.reserve(kBulkReserve);
  bytes_.append(data, n);
  return true;
}

void TlsWriteBuffer::sent(std::size_t n) {
  sent_ += n;
  if (sent_ < bytes_.size()) return;
  sent_ = 0;
  // Nothing kept once all is out: most connections are idle most of the
  // time, and an allocation per flush is cheap next to the write it follows.
  std::string().swap(bytes_);
}

}  // namespace xr::relay
