// What the fuzz targets share: how an input is read, and how a property
// failure becomes a crash libFuzzer saves.
//
// The machine targets read an input as a 3-byte header and a byte stream:
//   byte 0: option flags (meaning per target), byte 1: seed for the shell's
//   answers (auth outcomes, upstream replies), byte 2: seed for how the
//   stream is split into feed() calls; then the bytes a peer sends.
// So a seed file is 3 bytes + a transcript, and the fuzzer mutates both the
// conversation and the circumstances around it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace xr::fuzz {

// A property the code promises does not hold: report and crash, so libFuzzer
// saves the input.
[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "fuzz property violated: %s\n", what);
  std::abort();
}
#define XR_FUZZ_CHECK(cond) \
  do {                      \
    if (!(cond)) ::xr::fuzz::fail(#cond); \
  } while (0)

// A tiny deterministic generator: the same input always makes the same run.
class Rng {
 public:
  explicit Rng(std::uint8_t seed) : s_(0x9E3779B9u ^ (seed * 0x01000193u)) {}
  std::uint32_t next() {
    s_ ^= s_ << 13;
    s_ ^= s_ >> 17;
    s_ ^= s_ << 5;
    return s_;
  }
  std::uint32_t below(std::uint32_t n) { return n ? next() % n : 0; }
  bool chance(std::uint32_t one_in) { return below(one_in) == 0; }

 private:
  std::uint32_t s_;
};

struct MachineInput {
  std::uint8_t flags = 0;
  std::uint8_t answer_seed = 0;
  std::uint8_t split_seed = 0;
  std::string_view stream;
};

inline bool read_input(const std::uint8_t* data, std::size_t size, MachineInput& in) {
  if (size < 3) return false;
  in.flags = data[0];
  in.answer_seed = data[1];
  in.split_seed = data[2];
  in.stream = std::string_view(reinterpret_cast<const char*>(data + 3), size - 3);
  return true;
}

// The stream cut into the pieces successive reads would return: seed 0 is
// one piece, other seeds give pieces of 1..64 bytes.
inline std::vector<std::string_view> split(std::string_view s, std::uint8_t seed) {
  std::vector<std::string_view> pieces;
  if (seed == 0) {
    if (!s.empty()) pieces.push_back(s);
    return pieces;
  }
  Rng rng(seed);
  while (!s.empty()) {
    const std::size_t n = 1 + rng.below(seed % 2 ? 8 : 64);
    pieces.push_back(s.substr(0, n));
    s.remove_prefix(std::min(n, s.size()));
  }
  return pieces;
}

// A machine that keeps asking for nothing but events, without input, loops.
constexpr int kMaxSteps = 200000;

// What a server machine's shell does on need_input: feed the next piece;
// with flag 64 shut down halfway; after the last piece one timeout (flag 32)
// or EOF. A second need_input after that would leave the shell waiting forever.
struct ServerFeeder {
  const std::vector<std::string_view>& pieces;
  std::uint8_t flags;
  std::size_t next = 0;
  bool ended = false, shut = false;

  template <class Machine>
  void on_need_input(Machine& m) {
    if ((flags & 64) && !shut && next >= pieces.size() / 2) {
      shut = true;
      m.shutdown();
    } else if (next < pieces.size()) {
      m.feed(pieces[next++]);
    } else if (!ended) {
      ended = true;
      if (flags & 32) m.timeout(); else m.eof();
    } else {
      fail("need_input after the input ended: the shell would wait forever");
    }
  }
};

}  // namespace xr::fuzz
