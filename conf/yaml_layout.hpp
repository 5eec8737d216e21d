// When yaml-cpp refuses a file, its words ("end of map not found", "illegal
// map value") rarely tell a person what to change. This looks at the text's
// layout for the usual cause: a tab in the indentation, or a key indented
// less than its siblings (between two levels).
#pragma once

#include <optional>
#include <string>

namespace xr::conf {

struct LayoutProblem {
  enum class Kind { tab, dedent, overindent };
  Kind kind = Kind::tab;
  int line = 0;    // 1-based
  int column = 0;  // 1-based
  std::string message;
};

// The first layout problem in `text` at or before line `up_to` (1-based;
// 0: anywhere), or nullopt. Lines inside block scalars (| and >) and
// multi-line flow collections ([ ], { }) are not judged; a line deeper than
// the one above (a plain scalar may continue so) only on line `up_to`.
std::optional<LayoutProblem> find_layout_problem(const std::string& text, int up_to = 0);

}  // namespace xr::conf
