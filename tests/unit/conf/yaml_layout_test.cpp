// conf/yaml_layout: the layout mistakes behind yaml-cpp's "end of map not
// found", and no false alarms on valid layouts.
#include "conf/yaml_layout.hpp"
#include "conf_test_support.hpp"

#include <fstream>
#include <sstream>

using namespace xr::conf;
using xr::conf::test::contains;

TEST_CASE("yaml_layout: the shipped example config has no layout problem") {
  auto source_dir = std::filesystem::path(XR_TEST_DATA_DIR).parent_path().parent_path();
  std::ifstream in(source_dir / "conf" / "relay.example.yaml");
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  auto p = find_layout_problem(text.str());
  CHECK_MESSAGE(!p, (p ? p->message + " at line " + std::to_string(p->line) : ""));
}

TEST_CASE("yaml_layout: valid layouts pass") {
  CHECK_FALSE(find_layout_problem("listeners:\n- listen: a\n  tls: none\nusers: {}\n"));
  CHECK_FALSE(find_layout_problem("a:\n  b: |\n    text\n    \twith a tab\n      deeper\n  c: 1\n"));
  CHECK_FALSE(find_layout_problem("a: [1,\n      2,\n  3]\nb: {x: 1,\n y: 2}\n"));
  CHECK_FALSE(find_layout_problem("a:\n  b: 1\n    # a comment anywhere\n\t# even after a tab\n  c: 2\n"));
  CHECK_FALSE(find_layout_problem("a:\n  -\n    b: 1\n    c: 2\n  - d: 3\n"));
}

TEST_CASE("yaml_layout: a dedent inside a list item names the item") {
  auto p = find_layout_problem("listeners:\n  - listen: a\n    tls: none\n   cert_file: x\n");
  REQUIRE(p);
  CHECK(p->line == 4);
  CHECK(p->column == 4);
  CHECK(contains(p->message, "`cert_file` is indented less than its siblings (3 spaces, they have 4); did you mean "
                             "to put it under the list item at line 2?"));
}

TEST_CASE("yaml_layout: a tab, and only up to the line yaml-cpp stopped at") {
  auto p = find_layout_problem("a:\n  b: 1\n\tc: 2\n");
  REQUIRE(p);
  CHECK(p->line == 3);
  CHECK(p->column == 1);
  CHECK(contains(p->message, "a tab; YAML indents with spaces only"));
  CHECK_FALSE(find_layout_problem("a:\n  b: 1\n\tc: 2\n", 2));
}

TEST_CASE("yaml_layout: a line indented more than a key that takes no block below") {
  auto p = find_layout_problem("a:\n  b: 1\n    c: 2\n");
  REQUIRE(p);
  CHECK(p->line == 3);
  CHECK(contains(p->message, "`c` is indented more than the line above"));
}

TEST_CASE("yaml_layout: a continued plain scalar above the error line is not blamed") {
  // Line 2 continues `hostname`'s value; the real mistake is the tab on line 4.
  const std::string text = "server:\n  hostname: relay\n    .example.com\n\tuser: x\n";
  auto p = find_layout_problem(text, 4);
  REQUIRE(p);
  CHECK(p->line == 4);
  CHECK(p->kind == LayoutProblem::Kind::tab);
}
