#include "conf/yaml_layout.hpp"

#include <sstream>
#include <vector>

namespace xr::conf {
namespace {

// One indentation level: the column its keys (or list dashes) start at and
// what it belongs to, for "did you mean to put it under X?".
struct Level {
  std::size_t indent;
  std::string owner;  // "`contoso`", "the list item at line 7", or "" at the top
};

// The key of "key: value" / "key:" (plain or quoted), or "".
std::string key_of(const std::string& content) {
  if (content.empty() || content[0] == '#' || content[0] == '[' || content[0] == '{') return {};
  std::size_t i = 0;
  if (content[0] == '"' || content[0] == '\'') {
    const char q = content[0];
    i = content.find(q, 1);
    if (i == std::string::npos) return {};
    if (i + 1 < content.size() && content[i + 1] == ':' &&
        (i + 2 == content.size() || content[i + 2] == ' '))
      return content.substr(1, i - 1);
    return {};
  }
  for (; i < content.size(); ++i) {
    if (content[i] == ':' && (i + 1 == content.size() || content[i + 1] == ' ' || content[i + 1] == '\t'))
      return content.substr(0, i);
    if (content[i] == ' ' && i + 1 < content.size() && content[i + 1] == '#') return {};
  }
  return {};
}

// What follows "key:" (comment dropped, trimmed).
std::string value_after_key(const std::string& content, const std::string& key) {
  std::size_t colon = content.find(':', content[0] == '"' || content[0] == '\'' ? key.size() + 2 : key.size());
  if (colon == std::string::npos) return {};
  std::string v = content.substr(colon + 1);
  if (auto hash = v.find(" #"); hash != std::string::npos) v.erase(hash);
  std::size_t b = v.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  std::size_t e = v.find_last_not_of(" \t");
  return v.substr(b, e - b + 1);
}

bool starts_block_scalar(const std::string& value) {
  return !value.empty() && (value[0] == '|' || value[0] == '>');
}

// Brackets opened minus closed, outside quotes and comments.
int flow_balance(const std::string& s) {
  int depth = 0;
  char quote = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quote) {
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '"' || c == '\'') quote = c;
    else if (c == '#' && (i == 0 || s[i - 1] == ' ')) break;
    else if (c == '[' || c == '{') ++depth;
    else if (c == ']' || c == '}') --depth;
  }
  return depth;
}

}  // namespace

std::optional<LayoutProblem> find_layout_problem(const std::string& text, int up_to) {
  std::istringstream in(text);
  std::string raw;
  std::vector<Level> stack;
  std::string pending_owner;   // the line above opened a block ("key:" or "- key:")
  bool pending = false;
  std::size_t block_scalar_indent = std::string::npos;  // inside | or >: lines deeper than this
  int flow_depth = 0;
  for (int line = 1; std::getline(in, raw); ++line) {
    if (up_to > 0 && line > up_to) break;
    if (!raw.empty() && raw.back() == '\r') raw.pop_back();
    const std::size_t first = raw.find_first_not_of(" \t");
    if (first == std::string::npos) continue;  // blank
    std::size_t spaces = raw.find_first_not_of(' ');
    if (block_scalar_indent != std::string::npos) {
      if (spaces > block_scalar_indent) continue;
      block_scalar_indent = std::string::npos;
    }
    if (flow_depth > 0) {
      flow_depth += flow_balance(raw);
      continue;
    }
    if (raw[first] == '#') continue;  // comments may sit anywhere
    if (const auto tab = raw.find('\t'); tab < first) {
      return LayoutProblem{LayoutProblem::Kind::tab, line, int(tab) + 1,
                           "a tab; YAML indents with spaces only: replace the tab(s) at the start of this line "
                           "with spaces, aligned with the keys this one belongs to"};
    }
    const std::size_t indent = first;
    std::string content = raw.substr(first);
    // A list item: the dash is one level; what follows it, another.
    std::size_t dash_extra = 0;
    while (content.size() >= 1 && content[0] == '-' && (content.size() == 1 || content[1] == ' ')) {
      std::size_t rest = content.find_first_not_of(' ', 1);
      dash_extra += rest == std::string::npos ? content.size() : rest;
      content = rest == std::string::npos ? std::string() : content.substr(rest);
      break;
    }
    // Where this line stands among the open levels.
    const Level* popped = nullptr;
    Level popped_copy;
    while (!stack.empty() && stack.back().indent > indent) {
      popped_copy = stack.back();
      popped = &popped_copy;
      stack.pop_back();
    }
    const bool sibling = !stack.empty() && stack.back().indent == indent;
    if (!sibling) {
      if (popped) {
        std::string key = key_of(content);
        std::string what = key.empty() ? "this line" : "`" + key + "`";
        std::string msg = what + " is indented less than its siblings (" + std::to_string(indent) + " spaces, they have " +
                          std::to_string(popped->indent) + ")";
        if (!popped->owner.empty()) msg += "; did you mean to put it under " + popped->owner + "?";
        msg += " Indent it like the keys it belongs with";
        return LayoutProblem{LayoutProblem::Kind::dedent, line, int(indent) + 1, msg};
      }
      if (!stack.empty() && !pending) {
        // Also how a plain scalar continues on the next line: judged only
        // where yaml-cpp stopped (or when asked about the whole text).
        if (up_to > 0 && line != up_to) continue;
        std::string key = key_of(content);
        std::string what = key.empty() ? "this line" : "`" + key + "`";
        return LayoutProblem{LayoutProblem::Kind::overindent, line, int(indent) + 1,
                             what + " is indented more than the line above (" + std::to_string(indent) +
                                 " spaces, expected " + std::to_string(stack.back().indent) +
                                 "); only a key ending in `:` takes indented lines below it"};
      }
      stack.push_back({indent, pending ? pending_owner : ""});
    }
    pending = false;
    std::size_t content_indent = indent + dash_extra;
    if (dash_extra > 0) {
      if (content.empty()) {  // "-" alone: the item's content follows, deeper
        pending = true;
        pending_owner = "the list item at line " + std::to_string(line);
        continue;
      }
      stack.push_back({content_indent, "the list item at line " + std::to_string(line)});
    }
    const std::string key = key_of(content);
    std::string value = key.empty() ? content : value_after_key(content, key);
    if (!key.empty() && value.empty()) {
      pending = true;
      pending_owner = "`" + key + "`";
    } else if (starts_block_scalar(value)) {
      block_scalar_indent = content_indent;
    } else {
      flow_depth = flow_balance(value);
      if (flow_depth < 0) flow_depth = 0;
    }
  }
  return std::nullopt;
}

}  // namespace xr::conf
