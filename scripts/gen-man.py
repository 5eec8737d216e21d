#!/usr/bin/env python3
"""Generates xoauth2-relay(8), relay.yaml(5) and the bash completion from one
source each, so they cannot drift:

- the commands and options: the built binary's own `--help` (every command,
  recursively), run here, not copied;
- the configuration keys: conf/relay.example.yaml (its comments are the
  text) plus conf/relay.schema.json for every key the example does not show;
- the prose around them: docs/man/*.in (short, hand-written).

Run by CMake after the binary is built (cmake/man.cmake); by hand:
  scripts/gen-man.py --binary build/xoauth2-relay --outdir /tmp/man
Only the standard library: this runs at build time (packaging included).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROG = "xoauth2-relay"

# --- roff --------------------------------------------------------------------


def esc(text):
    """Plain text -> roff text: backslashes, hyphens (\\- so options copy and
    paste as ASCII), non-ASCII as named glyphs, `code` in bold."""
    out = []
    for ch in text.replace("\\", "\\e").replace("-", "\\-"):
        if ord(ch) < 128:
            out.append(ch)
        elif ch == "\u2014":
            out.append("\\(em")
        elif ch == "\u2013":
            out.append("\\(en")
        else:
            out.append("\\[u%04X]" % ord(ch))
    s = "".join(out)
    return re.sub(r"`([^`]+)`", r"\\fB\1\\fR", s)


def line(text):
    """One output line of running text; a leading . or ' would be a request."""
    s = esc(text)
    return "\\&" + s if s[:1] in (".", "'") else s


def bold(text):
    return "\\fB" + esc(text) + "\\fR"


# --- the binary's --help -----------------------------------------------------


# A sanitizer build's binary: no leak report (or LeakSanitizer failing under
# ptrace) may fail the build over a --help.
RUN_ENV = dict(os.environ, LC_ALL="C", ASAN_OPTIONS=(os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":"))


def run_help(binary, args):
    # argv[0] is the bare name, so the Usage line says xoauth2-relay, not the build path.
    out = subprocess.run([PROG] + args + ["--help"], executable=binary, capture_output=True,
                         text=True, env=RUN_ENV, timeout=30)
    if out.returncode != 0:
        sys.exit(f"gen-man: {binary} {' '.join(args)} --help exited {out.returncode}: {out.stderr}")
    return out.stdout


def parse_help(text):
    """CLI11's help: description, Usage:, then Positionals:/Options:/Subcommands:
    with `  name-part   description` rows (a long name part puts the
    description on the next line, indented)."""
    cmd = {"description": "", "usage": "", "positionals": [], "options": [], "subcommands": []}
    section = None
    rows = None
    desc = []
    for raw in text.splitlines():
        if raw.startswith("Usage: "):
            cmd["usage"] = raw[len("Usage: "):].strip()
            continue
        m = re.match(r"^(Positionals|Options|Subcommands):$", raw)
        if m:
            section = m.group(1).lower()
            rows = cmd[section]
            continue
        if section is None:
            if raw.strip():
                desc.append(raw.strip())
            continue
        if not raw.strip():
            continue
        m = re.match(r"^  (\S.*?)(?:\s{2,}(\S.*))?$", raw)
        if m and not raw.startswith("   "):
            rows.append({"spec": m.group(1), "help": m.group(2) or ""})
        elif rows:  # continuation: the description of the row above
            rows[-1]["help"] = (rows[-1]["help"] + " " + raw.strip()).strip()
    cmd["description"] = " ".join(desc)
    for o in cmd["options"] + cmd["positionals"]:
        o.update(parse_spec(o["spec"]))
    return cmd


def parse_spec(spec):
    """"-c,--config FILE=/etc/x.yaml" -> names, type, default; "ID TEXT ... REQUIRED"."""
    words = spec.split()
    names = words[0].split(",")
    info = {"names": names, "type": "", "default": "", "required": False, "multi": False}
    for w in words[1:]:
        if w == "REQUIRED":
            info["required"] = True
        elif w == "...":
            info["multi"] = True
        elif not info["type"]:
            info["type"], _, info["default"] = w.partition("=")
    return info


def command_tree(binary):
    """[(path, parsed help)] for the program and every (sub)command, depth first."""
    found = []

    def visit(path):
        cmd = parse_help(run_help(binary, path))
        found.append((path, cmd))
        for sub in cmd["subcommands"]:
            visit(path + [sub["spec"]])

    visit([])
    return found


def version_of(binary):
    out = subprocess.run([PROG, "--version"], executable=binary, capture_output=True, text=True, env=RUN_ENV,
                         timeout=30)
    words = out.stdout.split()
    return words[-1] if out.returncode == 0 and words else "unknown"


# --- xoauth2-relay(8) --------------------------------------------------------


def sentence(text):
    return text + "." if text and text[-1] not in ".:;!?" else text


def option_item(o):
    """.TP entry for one option or positional."""
    if o["names"][0].startswith("-"):
        head = ", ".join(bold(n) for n in o["names"])
    else:
        head = "\\fI" + esc(o["names"][0]) + "\\fR" + ("..." if o["multi"] else "")
    if o["type"] and o["names"][0].startswith("-"):
        head += " \\fI" + esc(o["type"]) + "\\fR"
    text = sentence(o["help"])
    if o["default"]:
        text += f" Default: {o['default']}."
    if o["required"]:
        text += " Required."
    return [".TP", head, line(text)]


def usage_line(usage):
    """"xoauth2-relay queue flush [OPTIONS] [ID...]": the command in bold."""
    words = usage.split()
    n = 0
    while n < len(words) and re.match(r"^[a-z][a-z0-9-]*$", words[n]):
        n += 1
    rest = " ".join(words[n:])
    return bold(" ".join(words[:n])) + (" " + esc(rest) if rest else "")


def man8(tree, template, version, date):
    root = tree[0][1]
    synopsis = []
    commands = []
    for path, cmd in tree[1:]:
        if not cmd["subcommands"]:
            synopsis += [usage_line(cmd["usage"]), ".br"]
        commands.append(".SS " + esc(" ".join(path)))
        commands.append(".PP")
        commands.append(usage_line(cmd["usage"]))
        commands.append(".PP")
        commands.append(line(sentence(cmd["description"])))
        for o in cmd["positionals"]:
            commands += option_item(o)
        for o in cmd["options"]:
            if o["names"] != ["-h", "--help"]:  # said once, under OPTIONS
                commands += option_item(o)
        if cmd["subcommands"]:
            commands.append(".PP")
            commands.append(line("Commands: " + ", ".join(s["spec"] for s in cmd["subcommands"]) + "."))
    synopsis += [usage_line(f"{PROG} --version"), ".br", usage_line(f"{PROG} [COMMAND] --help")]
    # NAME: the program's own one-line description ("xoauth2-relay: ...").
    name = f"{PROG} - " + re.sub(r"^%s:\s*" % re.escape(PROG), "", root["description"])
    options = []
    for o in root["options"]:
        options += option_item(o)
    options.append(".PP")
    options.append(line("Every command also takes -h, --help."))
    return fill(template, VERSION=esc(version), DATE=date, NAME=line(name), SYNOPSIS="\n".join(synopsis),
                OPTIONS="\n".join(options), COMMANDS="\n".join(commands))


def fill(template, **values):
    out = template
    for k, v in values.items():
        out = out.replace("@" + k + "@", v)
    left = re.findall(r"@[A-Z]+@", out)
    if left:
        sys.exit(f"gen-man: template placeholders left unfilled: {left}")
    # The template's own comment lines describe it, not the page.
    return "\n".join(out.splitlines()) + "\n"


# --- bash completion -----------------------------------------------------------


def takes_file(o):
    long = [n for n in o["names"] if n.startswith("--")]
    return o["type"] in ("FILE", "PATH", "DIR") or any(n == "--config" or n.endswith("-file") for n in long)


def completion(tree):
    """One case arm per command path: its subcommands, options, the options
    taking a value, and of those the ones naming a file."""
    arms = []
    for path, cmd in tree:
        key = "/".join(path)
        opts = [n for o in cmd["options"] for n in o["names"]]
        valued = [n for o in cmd["options"] if o["type"] for n in o["names"]]
        files = [n for o in cmd["options"] if o["type"] and takes_file(o) for n in o["names"]]
        subs = [s["spec"] for s in cmd["subcommands"]]
        arms.append(f'    "{key}") subs="{" ".join(subs)}" opts="{" ".join(opts)}" '
                    f'valued=" {" ".join(valued)} " files=" {" ".join(files)} " ;;')
    subpaths = "|".join('"' + "/".join(p) + '"' for p, _ in tree[1:])
    return f"""# bash completion for {PROG}; generated by scripts/gen-man.py from the
# binary's --help (do not edit: rebuild).
_xoauth2_relay_spec() {{
  case "$1" in
{chr(10).join(arms)}
    *) subs="" opts="" valued=" " files=" " ;;
  esac
}}

_xoauth2_relay() {{
  local cur=${{COMP_WORDS[COMP_CWORD]}} prev="" cmd="" word i subs opts valued files
  ((COMP_CWORD > 0)) && prev=${{COMP_WORDS[COMP_CWORD - 1]}}
  # --config=FILE: bash splits at '=', the option is the word before it.
  if [[ $cur == "=" ]]; then prev=${{COMP_WORDS[COMP_CWORD - 1]}}; cur=""
  elif [[ $prev == "=" && COMP_CWORD -gt 1 ]]; then prev=${{COMP_WORDS[COMP_CWORD - 2]}}; fi
  # The command path so far (e.g. queue/list), skipping option values.
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${{COMP_WORDS[i]}}
    _xoauth2_relay_spec "$cmd"
    if [[ $valued == *" $word "* ]]; then ((i++)); continue; fi
    local next=${{cmd:+$cmd/}}$word
    case "$next" in
      {subpaths}) cmd=$next ;;
    esac
  done
  _xoauth2_relay_spec "$cmd"
  COMPREPLY=()
  if [[ $files == *" $prev "* ]]; then
    if declare -F _filedir >/dev/null; then _filedir; else
      local IFS=$'\\n'; COMPREPLY=($(compgen -f -- "$cur")); fi
    return 0
  fi
  [[ $valued == *" $prev "* ]] && return 0
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif [[ -n $subs ]]; then
    COMPREPLY=($(compgen -W "$subs" -- "$cur"))
  fi
  return 0
}}
complete -F _xoauth2_relay {PROG}
"""


# --- the schema ----------------------------------------------------------------


class Schema:
    def __init__(self, doc):
        self.doc = doc

    def resolve(self, node):
        while isinstance(node, dict) and "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            node = {**self.doc["definitions"][name], **{k: v for k, v in node.items() if k != "$ref"}}
        return node if isinstance(node, dict) else {}

    def variants(self, node):
        """The node and every branch of allOf/anyOf/oneOf, refs resolved."""
        node = self.resolve(node)
        out = [node]
        for key in ("allOf", "anyOf", "oneOf"):
            for branch in node.get(key, []):
                out += self.variants(branch)
        return out

    def description(self, node):
        for v in self.variants(node):
            if v.get("description"):
                return v["description"]
        return ""

    def child(self, node, key):
        """(normalised path component, schema node) for `key` under `node`:
        a fixed property keeps its name, a map of names gives '*', a list '[]'."""
        if node is None:
            return key, None
        if key == "[]":
            for v in self.variants(node):
                if isinstance(v.get("items"), dict):
                    return "[]", v["items"]
            return "[]", None
        for v in self.variants(node):
            if key in v.get("properties", {}):
                return key, v["properties"][key]
        for v in self.variants(node):
            if isinstance(v.get("additionalProperties"), dict):
                return "*", v["additionalProperties"]
        return key, None

    def keys(self):
        """[(path, description)] for every key, in schema order."""
        out = []

        def walk(node, path, depth):
            if depth > 6:
                return
            for v in self.variants(node):
                for k, sub in v.get("properties", {}).items():
                    if sub is False:
                        continue
                    p = path + (k,)
                    if p not in seen:
                        seen.add(p)
                        out.append((p, self.description(sub)))
                    walk(sub, p, depth + 1)
                extra = v.get("additionalProperties")
                if isinstance(extra, dict):
                    walk(extra, path + ("*",), depth + 1)
                if isinstance(v.get("items"), dict):
                    walk(v["items"], path + ("[]",), depth + 1)

        seen = set()
        walk(self.doc, (), 0)
        return out


# --- the annotated example -----------------------------------------------------


class Entry:
    def __init__(self, path):
        self.path = path
        self.above = []     # comment lines above the key
        self.inline = ""    # the comment after it
        self.value = None   # as written (flow collections joined)
        self.name = ""      # for a '*' component: the example's name (contoso)


def split_comment(text):
    """("value", "comment") for a YAML line's rest, a '#' inside quotes kept."""
    quote = None
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1] in " \t"):
            return text[:i].rstrip(), text[i + 1:].strip()
    return text.rstrip(), ""


def depth_change(text):
    quote, d = None, 0
    for ch in text:
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            d += 1
        elif ch in "]}":
            d -= 1
    return d


def flow_keys(value):
    """Top-level keys of a flow mapping "{host: x, port: 1}"."""
    if not value.startswith("{"):
        return []
    keys, d, quote, token = [], 0, None, ""
    for ch in value:
        if quote:
            if ch == quote:
                quote = None
            continue
        if ch in "\"'":
            quote = ch
        elif ch in "[{":
            d += 1
            token = ""
        elif ch in "]}":
            d -= 1
        elif ch == "," and d == 1:
            token = ""
        elif ch == ":" and d == 1 and token.strip():
            keys.append(token.strip())
            token = ""
        elif d == 1:
            token += ch
    return keys


KEY_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)\s*:(?:\s+(.*))?$")


def parse_example(text, schema):
    """(header comment lines, {path: Entry} in first-appearance order).

    Only the first occurrence of a path gives its text: later list items and
    map entries are further examples. A commented-out key that the schema
    knows ("# proxy_from: [...]") takes the comment above it."""
    entries = {}
    header = None
    pending = []
    seen_content = False
    stack = [(-1, (), schema.doc)]  # (indent, path, schema node) of open containers
    flow = None                     # (entry, new, depth, path, node) while a flow value spans lines
    commented = None                # (indent, path, node) of the last commented-out key

    def parent_for(indent):
        while stack[-1][0] >= indent:
            stack.pop()
        return stack[-1]

    def get(path):
        if path not in entries:
            entries[path] = Entry(path)
            return entries[path], True
        return entries[path], False

    def add_key(indent, key, rest):
        nonlocal pending, seen_content, flow
        _, ppath, pnode = parent_for(indent)
        comp, node = schema.child(pnode, key)
        path = ppath + (comp,)
        value, inline = split_comment(rest or "")
        e, new = get(path)
        if new:
            e.above, e.inline, e.value = pending, inline, value or None
            e.name = key if comp == "*" else ""
        pending = []
        seen_content = True
        stack.append((indent, path, node))
        if value and depth_change(value) > 0:
            flow = (e, new, depth_change(value), path, node)
        elif new and value:
            for k in flow_keys(value):
                get(path + (schema.child(node, k)[0],))

    for raw in text.splitlines():
        if flow:
            e, new, d, path, node = flow
            value, inline = split_comment(raw.strip())
            d += depth_change(value)
            if new:
                e.value += " " + value
                e.inline = (e.inline + " " + inline).strip()
            flow = (e, new, d, path, node) if d > 0 else None
            if not flow and new:
                for k in flow_keys(e.value):
                    get(path + (schema.child(node, k)[0],))
            continue
        if not raw.strip():
            if not seen_content and header is None:
                header = pending
            pending = []
            commented = None
            continue
        m = re.match(r"^(\s*)#( ?)(.*)$", raw)
        if m:
            ci, body = len(m.group(1)), m.group(3)
            km = KEY_RE.match(body)
            if km and not body.startswith(" "):
                value = split_comment(km.group(2) or "")[0]
                _, ppath, pnode = [s for s in stack if s[0] < ci][-1]
                comp, node = schema.child(pnode, km.group(1))
                known = node is not None and comp != "*"
                if known and not re.search(r"\s", re.sub(r"\[.*\]|\{.*\}|\".*\"", "", value)):
                    e, new = get(ppath + (comp,))
                    if new:  # else another example of a key already shown: the prose goes on
                        e.above, e.value = pending, value or None
                        pending = []
                    commented = (ci, ppath + (comp,), node)
                    continue
            if commented:
                # "#   cert_file: x" under "# certificate:": a commented-out child.
                cm = KEY_RE.match(body.strip())
                indent_in = len(body) - len(body.lstrip())
                if cm and indent_in > 0:
                    comp, node = schema.child(commented[2], cm.group(1))
                    if node is not None:
                        e, new = get(commented[1] + (comp,))
                        if new:
                            e.value = split_comment(cm.group(2) or "")[0] or None
                        continue
            pending.append(body)
            continue
        commented = None
        m = re.match(r"^(\s*)(-\s+)?(.*)$", raw)
        indent, dash, rest = len(m.group(1)), m.group(2), m.group(3)
        if dash:
            _, ppath, pnode = parent_for(indent)
            comp, node = schema.child(pnode, "[]")
            stack.append((indent, ppath + (comp,), node))
            indent += len(dash)
            if rest.startswith("#"):
                pending.append(rest[1:].strip())
                continue
        km = KEY_RE.match(rest)
        if km:
            add_key(indent, km.group(1), km.group(2))
    return header or [], entries


def merge(entries, schema_keys):
    """Example order, with each key only the schema has placed after its
    preceding schema sibling (or right after its parent)."""
    order = list(entries)
    docs = {p: d for p, d in schema_keys}
    for i, (path, _) in enumerate(schema_keys):
        if path in order:
            continue
        parent = path[:-1]
        prev = [p for p, _ in schema_keys[:i] if p[:-1] == parent and p in order]
        anchor = prev[-1] if prev else parent
        pos = None
        for j, p in enumerate(order):
            if p[:len(anchor)] == anchor:
                pos = j
        order.insert(0 if pos is None else pos + 1, path)
    return order, docs


def weak(comment):
    """An inline comment that only says it is the default."""
    return re.fullmatch(r"(?i)default(:\s*\S+)?\.?", comment.strip() or "default") is not None


def doc_lines(e, schema_doc):
    """roff lines for an entry's text: the example's comment above (kept as
    written when it has indented lines, e.g. a table), its inline comment,
    else the schema's description."""
    out = []
    above = e.above if e else []
    inline = e.inline if e else ""
    if above:
        if any(l.startswith(" ") for l in above):
            out += [".nf"] + [line(l) for l in above] + [".fi"]
        else:
            out.append(line(" ".join(l.strip() for l in above)))
    # "# default" after a value says the example shows the default: no text of its own.
    if inline and not (weak(inline) and (above or schema_doc)):
        out.append(line(inline))
    if not above and (not inline or weak(inline)) and schema_doc:
        out.insert(0, line(schema_doc))
    # An example value, unless it says nothing (null) or cannot fit a line (a hash).
    if e and e.value and e.value not in ("|", ">", "null") and max(map(len, e.value.split())) <= 40:
        out.append(".br")
        out.append("Example: " + bold(e.value))
    return out


def label(path):
    rel = list(path[1:])
    while rel and rel[0] in ("*", "[]"):
        rel.pop(0)
    return ".".join("<name>" if c == "*" else c for c in rel).replace(".[]", "[]")


def man5(header, entries, schema, template, version, date):
    order, docs = merge(entries, schema.keys())
    keys = []
    for path in order:
        e = entries.get(path)
        if len(path) == 1:
            keys.append(".SS " + esc(path[0]))
            node = schema.child(schema.doc, path[0])[1]
            keys += doc_lines(e, docs.get(path, "") or schema.description(node) if node else "")
            star = entries.get(path + ("*",))
            if star is not None or (node and schema.child(node, "*")[0] == "*" and path + ("*",) in docs):
                keys.append(".PP")
                what = f" (here: {star.name})" if star is not None and star.name else ""
                text = f"A map: each key is a name{what}"
                if star is not None and star.inline:
                    text += ", " + star.inline
                keys.append(line(text + "; its value has the keys below."))
            elif path + ("[]",) in entries or any(p[:2] == path + ("[]",) for p in docs):
                keys.append(".PP")
                keys.append(line("A list: each entry has the keys below."))
            continue
        if path[-1] in ("*", "[]") or not label(path):
            continue
        keys.append(".TP")
        keys.append(".B " + esc(label(path)))
        keys += doc_lines(e, docs.get(path, ""))
    # The header's first paragraph is the file's title line; the rest is prose.
    paras = [[]]
    for l in header:
        if l.strip():
            paras[-1].append(l.strip())
        elif paras[-1]:
            paras.append([])
    paras = [p for p in paras if p]
    head = "\n".join(line(l) for p in paras[1:] or paras for l in p)
    return fill(template, VERSION=esc(version), DATE=date, HEADER=head, KEYS="\n".join(keys))


# --- main ----------------------------------------------------------------------


def page_date(paths):
    """SOURCE_DATE_EPOCH (reproducible builds), else the newest source's date."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    stamp = int(epoch) if epoch else max(int(os.path.getmtime(p)) for p in paths)
    return time.strftime("%Y-%m-%d", time.gmtime(stamp))


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", required=True, help="the built xoauth2-relay")
    ap.add_argument("--example", default=os.path.join(REPO, "conf", "relay.example.yaml"))
    ap.add_argument("--schema", default=os.path.join(REPO, "conf", "relay.schema.json"))
    ap.add_argument("--templates", default=os.path.join(REPO, "docs", "man"))
    ap.add_argument("--outdir", required=True,
                    help="writes man/xoauth2-relay.8, man/relay.yaml.5, completion/xoauth2-relay")
    a = ap.parse_args()

    t8 = os.path.join(a.templates, "xoauth2-relay.8.in")
    t5 = os.path.join(a.templates, "relay.yaml.5.in")
    date = page_date([a.example, a.schema, t8, t5, os.path.abspath(__file__)])
    version = version_of(a.binary)
    tree = command_tree(a.binary)
    with open(a.schema, encoding="utf-8") as f:
        schema = Schema(json.load(f))
    with open(a.example, encoding="utf-8") as f:
        header, entries = parse_example(f.read(), schema)
    with open(t8, encoding="utf-8") as f:
        write(os.path.join(a.outdir, "man", "xoauth2-relay.8"), man8(tree, f.read(), version, date))
    with open(t5, encoding="utf-8") as f:
        write(os.path.join(a.outdir, "man", "relay.yaml.5"), man5(header, entries, schema, f.read(), version, date))
    write(os.path.join(a.outdir, "completion", PROG), completion(tree))


if __name__ == "__main__":
    main()
