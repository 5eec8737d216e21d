#include "graph/mime_source.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace xr::graph {

std::size_t BufferSource::read(char* out, std::size_t n) {
  const std::size_t k = std::min(n, bytes_.size() - pos_);
  std::memcpy(out, bytes_.data() + pos_, k);
  pos_ += k;
  return k;
}

SkipSource::SkipSource(std::unique_ptr<MessageSource> inner, std::vector<smtp::ByteRange> skip)
    : inner_(std::move(inner)), skip_(std::move(skip)) {}

std::uint64_t SkipSource::size() const {
  std::uint64_t n = inner_->size();
  for (const auto& r : skip_) n -= r.length;
  return n;
}

std::size_t SkipSource::read(char* out, std::size_t n) {
  std::size_t done = 0;
  while (done < n) {
    if (next_ < skip_.size() && pos_ >= skip_[next_].offset) {
      // Inside a skipped range: read it away.
      const std::uint64_t end = skip_[next_].offset + skip_[next_].length;
      if (pos_ >= end) {
        ++next_;
        continue;
      }
      std::array<char, 4096> scratch;
      const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(scratch.size(), end - pos_));
      const std::size_t got = inner_->read(scratch.data(), want);
      if (got == 0) break;
      pos_ += got;
      continue;
    }
    std::size_t want = n - done;
    if (next_ < skip_.size())
      want = static_cast<std::size_t>(std::min<std::uint64_t>(want, skip_[next_].offset - pos_));
    const std::size_t got = inner_->read(out + done, want);
    if (got == 0) break;
    done += got;
    pos_ += got;
  }
  return done;
}

std::size_t PrefixSource::read(char* out, std::size_t n) {
  std::size_t done = 0;
  if (pos_ < prefix_.size()) {
    done = std::min(n, prefix_.size() - pos_);
    std::memcpy(out, prefix_.data() + pos_, done);
    pos_ += done;
  }
  while (done < n) {
    const std::size_t got = body_->read(out + done, n - done);
    if (got == 0) break;
    done += got;
  }
  return done;
}

std::unique_ptr<MessageSource> with_bcc(std::string field, std::vector<smtp::ByteRange> drop,
                                        std::unique_ptr<MessageSource> body) {
  if (!drop.empty()) body = std::make_unique<SkipSource>(std::move(body), std::move(drop));
  return std::make_unique<PrefixSource>(std::move(field), std::move(body));
}

}  // namespace xr::graph
