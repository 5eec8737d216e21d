// "Did you mean ...?" for misspelt keys and enum values.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xr::conf {

// Levenshtein distance (insert, delete, substitute; case-sensitive).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word`: within edit distance 2, or one of them a
// prefix of the other (min. 3 characters). Ties go to the earlier candidate.
std::optional<std::string> suggest(std::string_view word, const std::vector<std::string>& candidates);

// " (did you mean `x`?)" or "" — for appending to a message.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace xr::conf
