"""
Canonical JSON for Zarr metadata, byte for byte what the TypeScript writer (packages/core/src/bundle/
json.ts) produces: keys sorted by code point, two-space indent, non-ASCII written as UTF-8, numbers
formatted as JavaScript formats them, and NaN / Infinity / -Infinity as bare tokens (as Python's json
module, and so zarr and xarray, read them). The same bundle therefore gives the same bytes from
either language, which content addressing depends on.
"""
from __future__ import annotations

import json
import math
import re

__all__ = ["canonical_json", "parse_json", "js_number"]

_INDENT = "  "
_SURROGATE = re.compile("[\ud800-\udfff]")


def js_number(value: float) -> str:
    """A float as JavaScript's Number.prototype.toString writes it (what JSON.stringify uses).

    Both languages pick the shortest digit string that reads back to the same double; they differ
    only in layout (Python "1e-07" and "2.0", JavaScript "1e-7" and "2").
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"  # JSON.stringify(-0) is "0"
    sign = "-" if value < 0 else ""
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + (int(exponent) if exponent else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k, n = len(digits), point
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        text = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e >= 0 else "-") + str(abs(e))
    return sign + text


# json.ts escapes non-ASCII characters as \uXXXX and this module must write the same bytes (zarr
# 2.13, Debian 12's, decodes metadata as ASCII). Change it in both writers together.
ENSURE_ASCII = True


def _string(value: str) -> str:
    # json.dumps escapes exactly what JSON.stringify escapes, except lone surrogates, which
    # JSON.stringify writes as \udXXX.
    text = json.dumps(value, ensure_ascii=ENSURE_ASCII)
    return text if ENSURE_ASCII else _SURROGATE.sub(lambda m: "\\u%04x" % ord(m.group()), text)


def _write(value: object, indent: str) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return js_number(value)
    inner = indent + _INDENT
    if isinstance(value, (list, tuple)):
        if len(value) == 0:
            return "[]"
        return "[\n" + ",\n".join(inner + _write(item, inner) for item in value) + "\n" + indent + "]"
    if isinstance(value, dict):
        if len(value) == 0:
            return "{}"
        for key in value:
            if not isinstance(key, str):
                raise TypeError(f"cannot write a JSON object key of type {type(key).__name__}")
        keys = sorted(value)  # str order in Python is code point order, as json.ts sorts
        return "{\n" + ",\n".join(f"{inner}{_string(key)}: {_write(value[key], inner)}" for key in keys) + "\n" + indent + "}"
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def canonical_json(value: object) -> str:
    """The canonical text of a JSON-like value (no trailing newline, like json.ts)."""
    return _write(value, "")


def parse_json(text: str) -> object:
    """json.loads, which already accepts NaN / Infinity / -Infinity."""
    return json.loads(text)
