// The sendMail body: the MIME message in base64, produced while curl sends
// it. Holds one bounded buffer of raw bytes, never the message or its
// encoding whole (a 3 MB message would otherwise be in memory twice more).
#pragma once

#include "graph/graph_client.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace xr::graph {

// RFC 4648 base64 without line breaks (what Graph decodes), 4 bytes per 3
// started.
std::uint64_t base64_size(std::uint64_t raw);

class Base64Stream {
 public:
  explicit Base64Stream(MessageSource& source, std::size_t raw_buffer = 48 * 1024);

  // Fills out[0..n) with the next base64 bytes; returns how many (< n only at
  // the end). 0: done, or the source ended early (source_short()).
  std::size_t read(char* out, std::size_t n);

  // The source gave fewer bytes than its size(): the body would not match the
  // Content-Length already announced, so the request must be aborted.
  bool source_short() const { return short_; }
  std::uint64_t encoded_size() const { return base64_size(total_); }

 private:
  bool refill();  // more raw bytes into raw_; false at the source's end
  void encode_group(const unsigned char* in, std::size_t len, char* out) const;

  MessageSource& source_;
  std::uint64_t total_;      // source.size()
  std::uint64_t remaining_;  // raw bytes not read from the source yet
  bool short_ = false;
  std::vector<unsigned char> raw_;
  std::size_t raw_pos_ = 0, raw_len_ = 0;
  char pending_[4] = {};  // an encoded group that did not fit into the caller's buffer
  std::size_t pending_pos_ = 0, pending_len_ = 0;
};

}  // namespace xr::graph
