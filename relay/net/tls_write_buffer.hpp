// Where OpenSSL puts the records a TLS connection sends, until the
// connection writes them to its socket.
//
// With a socket BIO each record (at most 16 KiB of data) is a write() of its
// own, and on the relay's bulk paths (DATA, a spliced FETCH) those system
// calls and the packets they make cost more than the encryption. Records
// collected here go out together: one write for a whole SSL_write of 64 KiB,
// a handshake flight or a close_notify. The buffer never blocks OpenSSL
// below `kCap`; above it OpenSSL is told to retry (SSL_ERROR_WANT_WRITE)
// until the connection has written some out. It holds memory only while
// bytes wait.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

struct bio_st;

namespace xr::relay {

class TlsWriteBuffer {
 public:
  static constexpr std::size_t kCap = 256 * 1024;
  static constexpr std::size_t kBulkReserve = 4 * (16 * 1024 + 256) + 1024;  // four records with overhead

  // A BIO that appends to this buffer; owned by the SSL it is given to
  // (SSL_set0_wbio). The buffer must outlive that SSL.
  bio_st* make_bio();

  std::string_view unsent() const { return std::string_view(bytes_).substr(sent_); }
  bool empty() const { return sent_ == bytes_.size(); }
  void sent(std::size_t n);  // n more bytes of unsent() are on the socket

  // BIO write: false when full (OpenSSL retries later).
  bool append(const char* data, std::size_t n);

 private:
  std::string bytes_;
  std::size_t sent_ = 0;
};

}  // namespace xr::relay
