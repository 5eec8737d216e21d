// What sendMail reads, on both paths (a message in memory, a spool file):
// the Bcc: line the relay adds, then the message exactly as the device sent
// it, less the message's own Bcc fields. Nothing is copied to join them.
#pragma once

#include "graph/graph_client.hpp"
#include "protocols/recipient_headers.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace xr::graph {

// A message held in memory; `bytes` must outlive the source.
class BufferSource : public MessageSource {
 public:
  explicit BufferSource(std::string_view bytes) : bytes_(bytes) {}
  std::uint64_t size() const override { return bytes_.size(); }
  std::size_t read(char* out, std::size_t n) override;

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
};

// `inner` without the byte ranges `skip` (sorted, apart, inside it). A
// short inner read ends it early, as it would end `inner`.
class SkipSource : public MessageSource {
 public:
  SkipSource(std::unique_ptr<MessageSource> inner, std::vector<smtp::ByteRange> skip);
  std::uint64_t size() const override;
  std::size_t read(char* out, std::size_t n) override;

 private:
  std::unique_ptr<MessageSource> inner_;
  std::vector<smtp::ByteRange> skip_;
  std::size_t next_ = 0;     // the first range not yet passed
  std::uint64_t pos_ = 0;    // in inner_
};

// `prefix` (may be empty), then `body`.
class PrefixSource : public MessageSource {
 public:
  PrefixSource(std::string prefix, std::unique_ptr<MessageSource> body)
      : prefix_(std::move(prefix)), body_(std::move(body)) {}
  std::uint64_t size() const override { return prefix_.size() + body_->size(); }
  std::size_t read(char* out, std::size_t n) override;

 private:
  std::string prefix_;
  std::unique_ptr<MessageSource> body_;
  std::size_t pos_ = 0;  // in prefix_
};

// The Bcc line, then `body` without the ranges in `drop` (none: the body's
// bytes as they are).
std::unique_ptr<MessageSource> with_bcc(std::string field, std::vector<smtp::ByteRange> drop,
                                        std::unique_ptr<MessageSource> body);

}  // namespace xr::graph
