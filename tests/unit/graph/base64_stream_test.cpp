// The streamed sendMail body equals base64 of the whole message for every
// message length around group boundaries, every caller buffer size and every
// source read size, and a short source is reported, not padded.
#include "graph/base64_stream.hpp"
#include "protocols/base64.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>

using namespace xr::graph;

namespace {

// A message given out at most `chunk` bytes per read; `lie` bytes more
// claimed by size() than there are.
class StringSource : public MessageSource {
 public:
  StringSource(std::string data, std::size_t chunk, std::size_t lie = 0) : data_(std::move(data)), chunk_(chunk), lie_(lie) {}
  std::uint64_t size() const override { return data_.size() + lie_; }
  std::size_t read(char* out, std::size_t n) override {
    ++reads;
    const std::size_t k = std::min({n, chunk_, data_.size() - pos_});
    std::copy_n(data_.data() + pos_, k, out);
    pos_ += k;
    return k;
  }
  int reads = 0;

 private:
  std::string data_;
  std::size_t pos_ = 0, chunk_, lie_;
};

std::string bytes(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s.push_back(static_cast<char>((i * 131 + 7) & 0xff));
  return s;
}

std::string drain(Base64Stream& s, std::size_t out_size) {
  std::string out;
  std::string buf(out_size, '\0');
  for (int guard = 0; guard < 100000; ++guard) {
    const std::size_t got = s.read(buf.data(), buf.size());
    if (got == 0) break;
    REQUIRE(got <= out_size);
    out.append(buf, 0, got);
  }
  return out;
}

}  // namespace

TEST_CASE("base64 stream: size is 4 per 3 started") {
  CHECK(base64_size(0) == 0);
  CHECK(base64_size(1) == 4);
  CHECK(base64_size(3) == 4);
  CHECK(base64_size(4) == 8);
  CHECK(base64_size(3000000) == 4000000);
}

TEST_CASE("base64 stream: every length, caller buffer and source chunk gives the one-shot encoding") {
  for (std::size_t len = 0; len <= 20; ++len) {
    const std::string msg = bytes(len);
    const std::string want = xr::base64_encode(msg);
    for (std::size_t out = 1; out <= 13; ++out)
      for (std::size_t chunk = 1; chunk <= 7; ++chunk)
        for (std::size_t raw_buffer : {3, 4, 5, 8, 64}) {
          StringSource src(msg, chunk);
          Base64Stream s(src, raw_buffer);
          CHECK(s.encoded_size() == want.size());
          INFO("len=" << len << " out=" << out << " chunk=" << chunk << " raw=" << raw_buffer);
          CHECK(drain(s, out) == want);
          CHECK_FALSE(s.source_short());
        }
  }
}

TEST_CASE("base64 stream: a large message in curl-sized pieces, read from the source in bounded blocks") {
  const std::string msg = bytes(300001);
  StringSource src(msg, 1 << 20);
  Base64Stream s(src);
  CHECK(drain(s, 65536) == xr::base64_encode(msg));
  // 48 KiB at a time: the message is never asked for whole.
  CHECK(src.reads >= 300001 / (48 * 1024));
}

TEST_CASE("base64 stream: a source shorter than its size() stops and says so") {
  for (std::size_t lie : {1, 2, 3, 100}) {
    StringSource src(bytes(10), 4, lie);
    Base64Stream s(src, 8);
    const std::string out = drain(s, 5);
    CHECK(s.source_short());
    CHECK(out.size() < s.encoded_size());
  }
}
