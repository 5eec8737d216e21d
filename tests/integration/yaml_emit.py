"""A tiny YAML emitter for the relay configs the tests write (no PyYAML on CI).
Block style, every string double-quoted (JSON string syntax is valid YAML), so
what the relay reads is exactly what the test meant."""
import json
import re

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@-]*$")


def _scalar(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    raise TypeError(f"cannot write {type(v).__name__} as YAML")


def _key(k):
    k = str(k)
    return k if _PLAIN_KEY.match(k) and k not in ("true", "false", "null", "yes", "no", "on", "off") \
        else json.dumps(k, ensure_ascii=False)


def _lines(v, indent):
    pad = " " * indent
    if isinstance(v, dict):
        out = []
        for k, item in v.items():
            if isinstance(item, (dict, list)) and item:
                out.append(f"{pad}{_key(k)}:")
                out += _lines(item, indent + 2)
            else:
                out.append(f"{pad}{_key(k)}: {_inline(item)}")
        return out
    if isinstance(v, list):
        out = []
        for item in v:
            if isinstance(item, (dict, list)) and item:
                nested = _lines(item, indent + 2)
                nested[0] = f"{pad}- " + nested[0].lstrip()
                out += nested
            else:
                out.append(f"{pad}- {_inline(item)}")
        return out
    return [pad + _scalar(v)]


def _inline(v):
    if isinstance(v, dict):
        return "{}"
    if isinstance(v, list):
        return "[]"
    return _scalar(v)


def dump(doc):
    return "\n".join(_lines(doc, 0)) + "\n"
