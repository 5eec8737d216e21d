#include "conf/suggest.hpp"

#include <algorithm>
#include <cctype>

namespace xr::conf {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_prefix(std::string_view shorter, std::string_view longer) {
  return shorter.size() >= 3 && longer.substr(0, shorter.size()) == shorter;
}

}  // namespace

std::optional<std::string> suggest(std::string_view word, const std::vector<std::string>& candidates) {
  // Case differences count as nothing: `Level` is surely `level`.
  std::string w = lower(word);
  std::optional<std::string> best;
  std::size_t best_score = 3;
  for (const auto& c : candidates) {
    std::string lc = lower(c);
    std::size_t d = edit_distance(w, lc);
    // A prefix match ("client" for "client_id") ranks just behind distance 2.
    if (d > 2 && (is_prefix(w, lc) || is_prefix(lc, w))) d = 2;
    if (d < best_score) {
      best_score = d;
      best = c;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  auto s = suggest(word, candidates);
  return s ? " (did you mean `" + *s + "`?)" : "";
}

}  // namespace xr::conf
