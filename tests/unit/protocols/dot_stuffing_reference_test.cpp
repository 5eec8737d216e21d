// The DotDecoder's and DotEncoder's bulk paths (memchr, spans appended in one
// go) against simple byte-at-a-time reference machines written here, over
// many random inputs from CR/LF/dot-heavy and sparse alphabets, fed in random
// pieces: every return value, output byte, count and bare-CR offset agrees.
#include "protocols/dot_stuffing.hpp"

#include <doctest/doctest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

using namespace xr;

namespace {

// One byte at a time. `held` is what may still turn out to be part of a
// terminator or of a CRLF: "", ".", ".\r" or "\r".
struct RefDecoder {
  bool bol = true;
  bool done = false;
  std::string held;
  std::size_t bare_lf = 0, bare_cr = 0, first_bare_cr = std::string::npos;

  std::size_t decode(std::string_view in, std::string& out) {
    first_bare_cr = std::string::npos;
    std::size_t used = 0;
    for (char c : in) {
      if (done) break;
      ++used;
      step(c, out);
    }
    return used;
  }

  void step(char c, std::string& out) {
    if (held == "\r" || held == ".\r") {
      const bool dot = held == ".\r";
      held.clear();
      if (c == '\n') {
        if (dot) {
          done = true;  // ".\r\n"
        } else {
          out += "\r\n";
          bol = true;
        }
        return;
      }
      // The held CR was bare: content (the dot before it, if any, is dropped).
      if (first_bare_cr == std::string::npos) first_bare_cr = out.size();
      ++bare_cr;
      out += '\r';
      bol = false;
      // c is then an ordinary next byte, below.
    } else if (held == ".") {
      held.clear();
      if (c == '\n') {
        ++bare_lf;
        done = true;  // ".\n"
      } else if (c == '\r') {
        held = ".\r";
      } else {
        out += c;  // the first dot was stuffing
        bol = false;
      }
      return;
    }
    if (c == '\r') {
      held = "\r";
    } else if (c == '\n') {
      out += "\r\n";
      ++bare_lf;
      bol = true;
    } else if (bol && c == '.') {
      held = ".";
    } else {
      out += c;
      bol = false;
    }
  }
};

struct RefEncoder {
  bool bol = true;
  void encode(std::string_view in, std::string& out) {
    for (char c : in) {
      if (bol && c == '.') out += '.';
      out += c;
      bol = c == '\n';
    }
  }
};

std::string random_input(std::mt19937& rng, std::string_view alphabet, std::size_t max_len) {
  std::uniform_int_distribution<std::size_t> len(0, max_len), pick(0, alphabet.size() - 1);
  std::string s(len(rng), ' ');
  for (char& c : s) c = alphabet[pick(rng)];
  return s;
}

std::vector<std::string_view> random_split(std::mt19937& rng, std::string_view s, std::size_t max_piece) {
  std::vector<std::string_view> pieces;
  std::uniform_int_distribution<std::size_t> cut(0, max_piece);
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = std::min(s.size() - i, cut(rng));  // 0: an empty piece now and then
    pieces.push_back(s.substr(i, n));
    i += n;
  }
  return pieces;
}

// Dense in the bytes that matter, sparse (long plain runs), and binary.
const std::string_view kAlphabets[] = {
    std::string_view(".\r\n", 3),
    std::string_view("..\r\r\n\nab", 8),
    std::string_view("abcdefghijklmnopqrstuvwxyz0123456789 .\r\n", 40),
    std::string_view("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 \n", 64),
    std::string_view("\0\xff.\r\n\t", 6),
};

void check_decoder(std::mt19937& rng, std::string_view alphabet, std::size_t max_len, std::size_t max_piece) {
  const std::string in = random_input(rng, alphabet, max_len);
  smtp::DotDecoder d;
  RefDecoder ref;
  std::string out, ref_out;
  for (std::string_view piece : random_split(rng, in, max_piece)) {
    // Sometimes appended to a non-empty `out`, as the relay's buffers are.
    const std::size_t used = d.decode(piece, out);
    const std::size_t ref_used = ref.decode(piece, ref_out);
    REQUIRE(used == ref_used);
    REQUIRE(out == ref_out);
    REQUIRE(d.first_bare_cr() == ref.first_bare_cr);
    REQUIRE(d.bare_cr_count() == ref.bare_cr);
    REQUIRE(d.bare_lf_count() == ref.bare_lf);
    REQUIRE(d.done() == ref.done);
    if (d.done()) break;
    if (rng() % 4 == 0) {
      out.clear();
      ref_out.clear();
    }
  }
}

void check_encoder(std::mt19937& rng, std::string_view alphabet, std::size_t max_len, std::size_t max_piece) {
  const std::string in = random_input(rng, alphabet, max_len);
  smtp::DotEncoder e;
  RefEncoder ref;
  std::string out, ref_out;
  for (std::string_view piece : random_split(rng, in, max_piece)) {
    e.encode(piece, out);
    ref.encode(piece, ref_out);
    REQUIRE(out == ref_out);
  }
  std::string fin = out, ref_fin = ref_out;
  e.finish(fin);
  ref_fin += ref.bol ? ".\r\n" : "\r\n.\r\n";
  REQUIRE(fin == ref_fin);
}

}  // namespace

TEST_CASE("DotDecoder agrees with a byte-at-a-time reference on random input split at random") {
  std::mt19937 rng(20261205);
  for (std::string_view alphabet : kAlphabets) {
    for (int n = 0; n < 3000; ++n) check_decoder(rng, alphabet, 200, 9);    // short pieces: every state at a boundary
    for (int n = 0; n < 200; ++n) check_decoder(rng, alphabet, 20000, 4096);  // long spans: the fast path
  }
}

TEST_CASE("DotDecoder agrees with the reference on every split of small inputs") {
  // Every input of up to 6 bytes over ". \r \n x", each split in two at every byte.
  const std::string_view alphabet(".\r\nx", 4);
  std::vector<std::string> inputs{""};
  for (int len = 1; len <= 6; ++len) {
    std::vector<std::string> longer;
    for (const auto& s : inputs)
      if (s.size() == static_cast<std::size_t>(len - 1))
        for (char c : alphabet) longer.push_back(s + c);
    inputs.insert(inputs.end(), longer.begin(), longer.end());
  }
  for (const auto& in : inputs) {
    for (std::size_t cut = 0; cut <= in.size(); ++cut) {
      smtp::DotDecoder d;
      RefDecoder ref;
      std::string out, ref_out;
      for (std::string_view piece : {std::string_view(in).substr(0, cut), std::string_view(in).substr(cut)}) {
        CAPTURE(in);
        CAPTURE(cut);
        REQUIRE(d.decode(piece, out) == ref.decode(piece, ref_out));
        REQUIRE(out == ref_out);
        REQUIRE(d.first_bare_cr() == ref.first_bare_cr);
        REQUIRE(d.bare_cr_count() == ref.bare_cr);
        REQUIRE(d.bare_lf_count() == ref.bare_lf);
        REQUIRE(d.done() == ref.done);
        if (d.done()) break;
      }
    }
  }
}

TEST_CASE("DotEncoder agrees with a byte-at-a-time reference on random input split at random") {
  std::mt19937 rng(5122026);
  for (std::string_view alphabet : kAlphabets) {
    for (int n = 0; n < 3000; ++n) check_encoder(rng, alphabet, 200, 9);
    for (int n = 0; n < 200; ++n) check_encoder(rng, alphabet, 20000, 4096);
  }
}
