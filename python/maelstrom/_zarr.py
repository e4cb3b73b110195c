"""
Bundles on disk: a Zarr v2 group with xarray's conventions (DESIGN.md, decision 5), file for file and
byte for byte what the TypeScript writer (packages/core/src/bundle/zarr.ts) writes:

    dir/.zgroup  .zattrs  .zmetadata            group, bundle attrs, consolidated metadata
    dir/<name>/.zarray  .zattrs                 per variable; .zattrs holds _ARRAY_DIMENSIONS
    dir/<name>/0  1  …  (or 0.0, 1.0, …)        uncompressed C-order chunks along the first dim

Reading maps a single-chunk numeric array with numpy.memmap (no copy, read-only) and reads the
chunks of larger arrays straight into one buffer.
"""
from __future__ import annotations

import math
import os
import re
import sys
from typing import Any

from ._bundle import Bundle, BundleError, Variable
from ._deps import require_numpy
from ._json import canonical_json, parse_json

__all__ = ["read_bundle", "write_bundle", "DEFAULT_CHUNK_BYTES"]

DEFAULT_CHUNK_BYTES = 64 * 1024 * 1024
"""Largest chunk written: 64 MiB, so a chunk can be hashed, cached and streamed on its own."""
_ORDER_ATTR = "_maelstrom_order"
_NAT = -(2**63)
_MAX_NS = 2**63 - 1
# Each memmap holds a file descriptor: past this many arrays in one read, chunks are read instead.
_MAX_MEMMAPS = 256

# Bundle dtype -> (Zarr dtype, itemsize)
_ZARR_DTYPES = {
    "int8": ("|i1", 1), "int16": ("<i2", 2), "int32": ("<i4", 4), "int64": ("<i8", 8),
    "uint8": ("|u1", 1), "uint16": ("<u2", 2), "uint32": ("<u4", 4), "uint64": ("<u8", 8),
    "float32": ("<f4", 4), "float64": ("<f8", 8), "bool": ("|b1", 1), "datetime64[ns]": ("<M8[ns]", 8),
}  # fmt: skip
_CODE_TO_DTYPE = {
    "i1": "int8", "i2": "int16", "i4": "int32", "i8": "int64", "u1": "uint8", "u2": "uint16",
    "u4": "uint32", "u8": "uint64", "f4": "float32", "f8": "float64", "b1": "bool",
}  # fmt: skip
_DATETIME_FACTORS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9, "D": 86400 * 10**9, "W": 604800 * 10**9}
_SUPPORTED = "int8..int64, uint8..uint64, float32, float64, bool, datetime64, and strings (|O with vlen-utf8, <U, |S)"
_DTYPE_RE = re.compile(r"^([<>|=])([a-zA-Z])(\d*)(?:\[(\w+)\])?$")


def _assert_little_endian() -> None:
    if sys.byteorder != "little":
        raise BundleError("Maelstrom's Zarr bundles are little-endian and this machine is big-endian; this is not supported")


# ---------------------------------------------------------------------------------------------
# Writing


def _is_dimension_coord(v: Variable) -> bool:
    return len(v.dims) == 1 and v.dims[0] == v.name


def _encoded_strings(v: Variable) -> list[bytes]:
    try:
        return [s.encode("utf-8") for s in v.data.reshape(-1)]
    except UnicodeEncodeError as error:
        raise BundleError(f"variable '{v.name}' holds a string that is not valid Unicode ({error.reason}: {error.object[error.start:error.end]!r}); it cannot be stored as UTF-8") from None


def _chunk_shape(v: Variable, chunk_bytes: int, encoded: list[bytes] | None) -> list[int]:
    """Chunks along the first dimension only, as many rows as fit in chunk_bytes (at least one)."""
    if not v.shape:
        return []
    n0, rest = v.shape[0], list(v.shape[1:])
    inner = [max(s, 1) for s in rest]
    if n0 == 0:
        return [1, *inner]
    if encoded is not None:
        # Estimate from the actual encoded size; chunks must be uniform in Zarr, so this is approximate.
        total = 4
        for item in encoded:
            total += 4 + len(item)
        row_bytes: float = total / n0
    else:
        row_bytes = _ZARR_DTYPES[v.dtype][1] * math.prod(rest)
    rows = n0 if row_bytes == 0 else min(n0, max(1, math.floor(chunk_bytes / row_bytes)))
    return [rows, *inner]


def _plan_array(v: Variable, chunks: list[int], coordinates: list[str]) -> tuple[dict, dict]:
    is_string = v.dtype == "string"
    zarray = {
        "chunks": chunks,
        "compressor": None,
        "dimension_separator": ".",
        "dtype": "|O" if is_string else _ZARR_DTYPES[v.dtype][0],
        # Floats use NaN, as xarray does; everything else null (xarray masks values equal to fill_value).
        "fill_value": "NaN" if v.dtype in ("float32", "float64") else None,
        "filters": [{"id": "vlen-utf8"}] if is_string else None,
        "order": "C",
        "shape": list(v.shape),
        "zarr_format": 2,
    }
    zattrs = {**v.attrs, "_ARRAY_DIMENSIONS": list(v.dims)}
    if coordinates:
        zattrs["coordinates"] = " ".join(coordinates)
    return zarray, zattrs


def _encode_vlen_utf8(items: list[bytes], count: int) -> bytes:
    """numcodecs vlen-utf8: uint32 LE item count, then per item uint32 LE byte length + UTF-8 bytes."""
    parts = [count.to_bytes(4, "little")]
    for item in items:
        parts.append(len(item).to_bytes(4, "little"))
        parts.append(item)
    # Padding items of an edge chunk are empty strings (length 0).
    parts.append(b"\0\0\0\0" * (count - len(items)))
    return b"".join(parts)


def _bytes_of(array) -> memoryview:
    """The array's own memory as bytes, without a copy (datetimes through their int64 view)."""
    np = require_numpy("write_bundle")
    flat = array.reshape(-1)
    if flat.dtype.kind == "M":
        flat = flat.view(np.int64)
    return memoryview(flat.view(np.uint8))


def _write_file(path: str, *parts) -> None:
    with open(path, "wb") as f:
        for part in parts:
            f.write(part)


def _write_chunks(folder: str, v: Variable, chunks: list[int], encoded: list[bytes] | None) -> None:
    if not v.shape:  # 0-d: one chunk "0" with the single value
        _write_file(os.path.join(folder, "0"), _encode_vlen_utf8(encoded, 1) if encoded is not None else _bytes_of(v.data))
        return
    n0, c0 = v.shape[0], chunks[0]
    inner = math.prod(v.shape[1:])
    if inner == 0 or n0 == 0:
        return
    trailing = "".join(".0" for _ in chunks[1:])
    data = None if encoded is not None else _bytes_of(v.data)
    row_bytes = 0 if encoded is not None else _ZARR_DTYPES[v.dtype][1] * inner
    for i in range(math.ceil(n0 / c0)):
        path = os.path.join(folder, f"{i}{trailing}")
        rows = min(c0, n0 - i * c0)
        if encoded is not None:
            _write_file(path, _encode_vlen_utf8(encoded[i * c0 * inner : (i * c0 + rows) * inner], c0 * inner))
        else:
            part = data[i * c0 * row_bytes : (i * c0 + rows) * row_bytes]
            # Zarr v2 stores edge chunks at full size; the padding is outside the array and never read.
            padding = (c0 - rows) * row_bytes
            _write_file(path, part, bytes(padding)) if padding else _write_file(path, part)


def write_bundle(bundle: Bundle, path: str | os.PathLike, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> None:
    """Writes the bundle as a Zarr v2 group at `path`, which must not exist or be empty. The same
    bundle always gives byte-identical files, the same as the TypeScript writeBundle."""
    _assert_little_endian()
    require_numpy("write_bundle")
    if not isinstance(bundle, Bundle):
        raise BundleError(f"write_bundle expects a maelstrom.Bundle, got {type(bundle).__module__}.{type(bundle).__qualname__}")
    if not isinstance(chunk_bytes, int) or isinstance(chunk_bytes, bool) or chunk_bytes <= 0:
        raise BundleError(f"write_bundle: chunk_bytes must be a positive integer, got {chunk_bytes!r}")
    path = os.fspath(path)
    try:
        existing = os.listdir(path)
    except FileNotFoundError:
        os.makedirs(path)
        existing = []
    except NotADirectoryError:
        raise BundleError(f"cannot write bundle to {path}: it exists and is not a directory") from None
    if existing:
        shown = ", ".join(sorted(existing)[:5])
        raise BundleError(f"cannot write bundle to {path}: the directory is not empty (it has {shown}{', …' if len(existing) > 5 else ''}); give a new or empty directory")

    data = [bundle._variables[n] for n in bundle.variables]
    coords = [bundle._coords[n] for n in bundle.coords]
    # xarray's convention: a dimension coordinate is recognised by its name; any other coordinate is
    # listed in the `coordinates` attribute of the data variables that span its dims, or else in the
    # group's `coordinates` attribute.
    non_dim = [c for c in coords if not _is_dimension_coord(c)]
    listed: set[str] = set()
    arrays = []
    for v in data:
        names = [c.name for c in non_dim if all(d in v.dims for d in c.dims)]
        listed.update(names)
        arrays.append((v, names))
    arrays += [(c, []) for c in coords]
    group_attrs = {**bundle._attrs, _ORDER_ATTR: [v.name for v in data] + [c.name for c in coords]}
    orphans = [c.name for c in non_dim if c.name not in listed]
    if orphans:
        group_attrs["coordinates"] = " ".join(orphans)

    metadata: dict[str, Any] = {".zgroup": {"zarr_format": 2}, ".zattrs": group_attrs}
    plans = []
    for v, names in arrays:
        encoded = _encoded_strings(v) if v.dtype == "string" else None
        chunks = _chunk_shape(v, chunk_bytes, encoded)
        zarray, zattrs = _plan_array(v, chunks, names)
        metadata[f"{v.name}/.zarray"] = zarray
        metadata[f"{v.name}/.zattrs"] = zattrs
        plans.append((v, chunks, encoded))

    for v, _, _ in plans:
        os.mkdir(os.path.join(path, v.name))
    for relative, document in metadata.items():
        _write_file(os.path.join(path, relative), canonical_json(document).encode("utf-8"))
    _write_file(os.path.join(path, ".zmetadata"), canonical_json({"metadata": metadata, "zarr_consolidated_format": 1}).encode("utf-8"))
    for v, chunks, encoded in plans:
        _write_chunks(os.path.join(path, v.name), v, chunks, encoded)


# ---------------------------------------------------------------------------------------------
# Reading


class _Meta:
    __slots__ = ("name", "folder", "shape", "chunks", "dims", "kind", "dtype", "np_dtype", "itemsize", "factor", "zarr_dtype", "fill", "separator", "attrs", "coordinates")


def _parse_dtype(where: str, dtype: Any, filters: Any, meta: _Meta) -> None:
    if not isinstance(dtype, str):
        raise BundleError(f"{where}: unsupported dtype {canonical_json(dtype)} (structured dtypes are not supported); expected {_SUPPORTED}")
    no_filters = filters is None or filters == []
    m = _DTYPE_RE.match(dtype)
    if m is None:
        raise BundleError(f"{where}: unsupported dtype '{dtype}'; expected {_SUPPORTED}")
    order, letter, digits, unit = m.groups()
    meta.factor = 1
    if letter == "O":
        ids = [f.get("id") if isinstance(f, dict) else f for f in filters] if isinstance(filters, list) else []
        if ids != ["vlen-utf8"]:
            raise BundleError(f"{where}: object dtype '|O' needs filters [{{\"id\": \"vlen-utf8\"}}], got {_compact(filters)}; only UTF-8 string objects are supported")
        meta.kind, meta.dtype, meta.itemsize = "vlen", "string", 0
        return
    if not no_filters:
        raise BundleError(f"{where}: unsupported filters {_compact(filters)}; Maelstrom reads unfiltered arrays (and vlen-utf8 for strings)")
    size = int(digits) if digits else 0
    if order == ">" and (size > 1 or letter == "U"):
        raise BundleError(f"{where}: dtype '{dtype}' is big-endian; Maelstrom reads little-endian Zarr only (write it with '<{dtype[1:]}')")
    if letter == "U" and size > 0:
        meta.kind, meta.dtype, meta.itemsize, meta.np_dtype = "fixed", "string", 4 * size, f"<U{size}"
        return
    if letter == "S" and size > 0:
        meta.kind, meta.dtype, meta.itemsize, meta.np_dtype = "fixed", "string", size, f"|S{size}"
        return
    if letter == "M" and size == 8:
        factor = _DATETIME_FACTORS.get(unit) if unit is not None else None
        if factor is None:
            raise BundleError(f"{where}: unsupported datetime unit in dtype '{dtype}'; expected one of {', '.join(_DATETIME_FACTORS)}")
        meta.kind, meta.dtype, meta.itemsize, meta.np_dtype, meta.factor = "numeric", "datetime64[ns]", 8, "<i8", factor
        return
    name = _CODE_TO_DTYPE.get(f"{letter}{size}")
    if name is None or unit is not None:
        raise BundleError(f"{where}: unsupported dtype '{dtype}'; expected {_SUPPORTED}")
    meta.kind, meta.dtype, meta.itemsize, meta.np_dtype = "numeric", name, size, _ZARR_DTYPES[name][0]


def _compact(value: Any) -> str:
    import json

    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _parse_fill(where: str, meta: _Meta, fill: Any) -> Any:
    def bad():
        raise BundleError(f"{where}: fill_value {_compact(fill)} does not fit dtype {meta.dtype}")

    if meta.dtype == "string":
        if fill is None or fill == 0:
            return ""
        return fill if isinstance(fill, str) else bad()
    if meta.kind != "numeric":
        return bad()
    if fill is None:
        return 0
    if meta.dtype in ("float32", "float64"):
        if isinstance(fill, (int, float)) and not isinstance(fill, bool):
            return float(fill)
        special = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
        return special[fill] if isinstance(fill, str) and fill in special else bad()
    if meta.dtype == "bool":
        return 1 if fill is True or fill == 1 else 0 if fill is False or fill == 0 else bad()
    if meta.dtype == "datetime64[ns]" and fill == "NaT":
        return _NAT
    if not isinstance(fill, (int, float)) or isinstance(fill, bool) or not float(fill).is_integer():
        return bad()
    fill = int(fill)
    if meta.dtype == "datetime64[ns]":
        return fill * meta.factor
    return fill


def _read_json(path: str, what: str) -> Any:
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    try:
        return parse_json(text)
    except ValueError as error:
        raise BundleError(f"{path}: {what} is not valid JSON ({error})") from None


def _read_json_if_exists(path: str, what: str) -> Any:
    try:
        return _read_json(path, what)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _as_object(value: Any, path: str) -> dict:
    if not isinstance(value, dict):
        raise BundleError(f"{path} must hold a JSON object")
    return value


def _is_int_list(value: Any, minimum: int) -> bool:
    return isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) and v >= minimum for v in value)


def _read_array_meta(directory: str, name: str) -> _Meta | None:
    folder = os.path.join(directory, name)
    zarray_path = os.path.join(folder, ".zarray")
    raw = _read_json_if_exists(zarray_path, "array metadata")
    if raw is None:
        return None
    z = _as_object(raw, zarray_path)
    if z.get("zarr_format") != 2:
        raise BundleError(f"{zarray_path}: zarr_format is {_compact(z.get('zarr_format'))}; expected 2")
    shape, chunks = z.get("shape"), z.get("chunks")
    if not _is_int_list(shape, 0):
        raise BundleError(f"{zarray_path}: shape must be a list of non-negative integers, got {_compact(shape)}")
    if not _is_int_list(chunks, 1) or len(chunks) != len(shape):
        raise BundleError(f"{zarray_path}: chunks must be {len(shape)} positive integers (one per dimension of shape [{', '.join(map(str, shape))}]), got {_compact(chunks)}")
    compressor = z.get("compressor")
    if compressor is not None:
        shown = compressor.get("id", compressor) if isinstance(compressor, dict) else compressor
        raise BundleError(
            f"{zarray_path}: compressor {_compact(shown)} is not supported; Maelstrom reads uncompressed Zarr (compressor: null). "
            f'From xarray write it with encoding={{"{name}": {{"compressor": None}}}}'
        )
    order = z.get("order", "C")
    if order != "C":
        raise BundleError(f'{zarray_path}: order {_compact(order)} is not supported; expected "C"')
    separator = z.get("dimension_separator", ".")
    if separator is None:
        separator = "."
    if separator not in (".", "/"):
        raise BundleError(f'{zarray_path}: dimension_separator {_compact(separator)}; expected "." or "/"')
    meta = _Meta()
    _parse_dtype(zarray_path, z.get("dtype"), z.get("filters"), meta)
    meta.fill = _parse_fill(zarray_path, meta, z.get("fill_value"))

    zattrs_path = os.path.join(folder, ".zattrs")
    attrs = _as_object(_read_json_if_exists(zattrs_path, "array attributes") or {}, zattrs_path)
    dims = attrs.get("_ARRAY_DIMENSIONS")
    if not isinstance(dims, list) or len(dims) != len(shape) or not all(isinstance(d, str) for d in dims):
        raise BundleError(
            f"{zattrs_path}: _ARRAY_DIMENSIONS must list {len(shape)} dimension names (xarray's convention for naming the dims of shape [{', '.join(map(str, shape))}]), got {'undefined' if dims is None else _compact(dims)}"
        )
    coordinates = attrs.get("coordinates")
    meta.coordinates = coordinates.split() if isinstance(coordinates, str) else []
    meta.attrs = {k: v for k, v in attrs.items() if k not in ("_ARRAY_DIMENSIONS", "coordinates")}
    meta.name, meta.folder, meta.shape, meta.chunks, meta.dims = name, folder, tuple(shape), tuple(chunks), tuple(dims)
    meta.zarr_dtype, meta.separator = str(z.get("dtype")), separator
    return meta


def _chunk_grid(shape: tuple, chunks: tuple):
    import itertools

    if not shape:
        return [()]
    if 0 in shape:
        return []
    return list(itertools.product(*(range(math.ceil(s / c)) for s, c in zip(shape, chunks))))


def _chunk_key(index: tuple, separator: str) -> str:
    return "0" if not index else separator.join(map(str, index))


def _spans_trailing(meta: _Meta) -> bool:
    """Chunks cover every trailing dimension fully: each chunk is one contiguous run of the array."""
    return all(c == s for c, s in zip(meta.chunks[1:], meta.shape[1:]))


def _open_chunk(path: str, expected: int, meta: _Meta):
    try:
        f = open(path, "rb", buffering=0)
    except FileNotFoundError:
        return None
    size = os.fstat(f.fileno()).st_size
    if size != expected:
        f.close()
        raise BundleError(f"chunk file {path} has {size} bytes; expected {expected} (chunk shape [{', '.join(map(str, meta.chunks))}] of {meta.zarr_dtype}, uncompressed)")
    return f


def _read_fully(f, target: memoryview, path: str) -> None:
    offset = 0
    while offset < len(target):
        n = f.readinto(target[offset:])
        if not n:
            raise BundleError(f"chunk file {path} ended early (it shrank while being read)")
        offset += n


def _region(meta: _Meta, index: tuple) -> tuple:
    """The array slices a chunk covers, and the matching slices of the (possibly padded) chunk."""
    target = tuple(slice(i * c, min((i + 1) * c, s)) for i, c, s in zip(index, meta.chunks, meta.shape))
    source = tuple(slice(0, t.stop - t.start) for t in target)
    return target, source


def _read_fixed(meta: _Meta, memmaps: list[int]):
    """Fixed-size elements (numbers, fixed-width strings) of one array, as a numpy array in the stored dtype."""
    np = require_numpy("read_bundle")
    dtype = np.dtype(meta.np_dtype)
    count = math.prod(meta.shape)
    chunk_bytes = math.prod(meta.chunks) * meta.itemsize
    grid = _chunk_grid(meta.shape, meta.chunks)
    if count == 0:
        return np.zeros(meta.shape, dtype=dtype)
    if len(grid) == 1 and _spans_trailing(meta) and memmaps[0] > 0 and meta.kind == "numeric" and meta.factor == 1:
        path = os.path.join(meta.folder, _chunk_key(grid[0], meta.separator))
        f = _open_chunk(path, chunk_bytes, meta)
        if f is not None:
            f.close()
            memmaps[0] -= 1
            # The whole array is the start of the one chunk file: map it (no copy, read-only).
            mapped = np.memmap(path, dtype=dtype, mode="r", shape=(count,))
            return mapped.reshape(meta.shape)
    out = np.empty(meta.shape, dtype=dtype)
    flat = memoryview(out.reshape(-1).view(np.uint8))
    for index in grid:
        path = os.path.join(meta.folder, _chunk_key(index, meta.separator))
        target, source = _region(meta, index)
        f = _open_chunk(path, chunk_bytes, meta)
        if f is None:
            if meta.kind == "numeric":
                out[target] = meta.fill if meta.factor == 1 or meta.fill == _NAT else meta.fill // meta.factor
            continue
        with f:
            if _spans_trailing(meta):
                # The usual case (chunks along the first dim): straight into the result, no copy.
                start = target[0].start * math.prod(meta.shape[1:]) * meta.itemsize if meta.shape else 0
                length = math.prod(t.stop - t.start for t in target) * meta.itemsize
                _read_fully(f, flat[start : start + length], path)
            else:
                chunk = np.empty(meta.chunks, dtype=dtype)
                _read_fully(f, memoryview(chunk.reshape(-1).view(np.uint8)), path)
                out[target] = chunk[source]
    return out


def _scale_datetimes(values, factor: int, where: str):
    np = require_numpy("read_bundle")
    if factor == 1:
        return values.view("datetime64[ns]")
    nat = values == _NAT
    low = -((-(_NAT + 1)) // factor)
    high = _MAX_NS // factor
    outside = ~nat & ((values < low) | (values > high))
    if outside.any():
        bad = int(values.reshape(-1)[np.flatnonzero(outside.reshape(-1))[0]])
        raise BundleError(f"{where}: datetime value {bad} does not fit datetime64[ns] (years 1678–2262)")
    return np.where(nat, np.int64(_NAT), values * np.int64(factor)).view("datetime64[ns]")


def _decode_vlen_utf8(buffer: bytes, expected: int, path: str) -> list[str]:
    def corrupt(what: str):
        raise BundleError(f"chunk file {path} is not valid vlen-utf8: {what}")

    if len(buffer) < 4:
        corrupt(f"it has {len(buffer)} bytes, fewer than the 4-byte item count")
    count = int.from_bytes(buffer[0:4], "little")
    if count != expected:
        corrupt(f"it holds {count} items; expected {expected} (one per element of the chunk)")
    items = [""] * count
    position = 4
    end = len(buffer)
    view = memoryview(buffer)
    for i in range(count):
        if position + 4 > end:
            corrupt(f"item {i} runs past the end of the file")
        length = int.from_bytes(view[position : position + 4], "little")
        position += 4
        if position + length > end:
            corrupt(f"item {i} ({length} bytes) runs past the end of the file")
        items[i] = str(view[position : position + length], "utf-8", "replace")
        position += length
    if position != end:
        corrupt(f"{end - position} unexpected bytes after the last item")
    return items


def _read_vlen(meta: _Meta):
    np = require_numpy("read_bundle")
    out = np.empty(meta.shape, dtype=object)
    if out.size:
        out.reshape(-1)[:] = meta.fill
    expected = math.prod(meta.chunks)
    for index in _chunk_grid(meta.shape, meta.chunks):
        path = os.path.join(meta.folder, _chunk_key(index, meta.separator))
        try:
            with open(path, "rb") as f:
                buffer = f.read()
        except FileNotFoundError:
            continue
        items = _decode_vlen_utf8(buffer, expected, path)
        target, source = _region(meta, index)
        chunk = np.empty(len(items), dtype=object)
        chunk[:] = items
        out[target] = chunk.reshape(meta.chunks)[source]
    return out


def _load_array(meta: _Meta, memmaps: list[int]):
    np = require_numpy("read_bundle")
    if meta.kind == "vlen":
        return _read_vlen(meta)
    raw = _read_fixed(meta, memmaps)
    if meta.kind == "fixed":
        if raw.dtype.kind == "U":
            return raw.astype(object)
        out = np.empty(raw.shape, dtype=object)
        out.reshape(-1)[:] = [item.decode("utf-8", "replace") for item in raw.reshape(-1)]
        return out
    if meta.dtype == "datetime64[ns]":
        return _scale_datetimes(raw, meta.factor, meta.folder)
    return raw


def _order_names(names: list[str], preferred: Any) -> list[str]:
    hinted = [n for n in preferred if isinstance(n, str) and n in names] if isinstance(preferred, list) else []
    unique = list(dict.fromkeys(hinted))
    return unique + sorted(n for n in names if n not in unique)


def _read_group_meta(directory: str) -> tuple[list[_Meta], dict]:
    _assert_little_endian()
    if not os.path.exists(directory):
        raise BundleError(f"cannot read bundle: {directory} does not exist")
    if not os.path.isdir(directory):
        raise BundleError(f"cannot read bundle: {directory} is not a directory (a bundle is a Zarr v2 group directory)")
    zgroup_path = os.path.join(directory, ".zgroup")
    zgroup = _read_json_if_exists(zgroup_path, "group metadata")
    if zgroup is None:
        hint = (
            " (it is a single Zarr array, not a group)"
            if os.path.exists(os.path.join(directory, ".zarray"))
            else " (it looks like Zarr v3; Maelstrom reads Zarr v2)" if os.path.exists(os.path.join(directory, "zarr.json")) else ""
        )
        raise BundleError(f"{directory} is not a Zarr group: {zgroup_path} is missing{hint}")
    fmt = _as_object(zgroup, zgroup_path).get("zarr_format")
    if fmt != 2:
        raise BundleError(f"{zgroup_path}: zarr_format is {_compact(fmt)}; expected 2 (Maelstrom reads Zarr v2)")
    zattrs_path = os.path.join(directory, ".zattrs")
    group_attrs = dict(_as_object(_read_json_if_exists(zattrs_path, "group attributes") or {}, zattrs_path))
    metas = []
    with os.scandir(directory) as entries:
        names = sorted(e.name for e in entries if not e.name.startswith(".") and (e.is_dir() or e.is_symlink()))
    for name in names:
        # Subdirectories without .zarray (nested groups, stray folders) are not variables, as in xarray.
        meta = _read_array_meta(directory, name)
        if meta is not None:
            metas.append(meta)
    return metas, group_attrs


def read_bundle(path: str | os.PathLike) -> Bundle:
    """Reads a bundle written by write_bundle (or the TypeScript writeBundle), or any uncompressed
    Zarr v2 group following xarray's conventions. Numeric arrays stored in one chunk are memory-mapped
    read-only; copy an array before writing into it."""
    require_numpy("read_bundle")
    directory = os.fspath(path)
    metas, group_attrs = _read_group_meta(directory)
    by_name = {m.name: m for m in metas}
    coord_names: set[str] = {m.name for m in metas if m.dims == (m.name,)}
    for m in metas:
        coord_names.update(n for n in m.coordinates if n in by_name)
    group_coordinates = group_attrs.get("coordinates")
    if isinstance(group_coordinates, str):
        coord_names.update(n for n in group_coordinates.split() if n in by_name)
    order = group_attrs.pop(_ORDER_ATTR, None)
    group_attrs.pop("coordinates", None)
    data_names = _order_names([m.name for m in metas if m.name not in coord_names], order)
    coord_order = _order_names(sorted(coord_names), order)

    budget = [_MAX_MEMMAPS]
    loaded = {}
    for m in metas:
        array = _load_array(m, budget)
        array.flags.writeable = False
        loaded[m.name] = Variable(m.name, m.dims, m.shape, m.dtype, array, m.attrs)
    try:
        return Bundle._build({n: loaded[n] for n in data_names}, {n: loaded[n] for n in coord_order}, group_attrs)
    except BundleError as error:
        raise BundleError(f"bundle at {directory} is invalid: {error}") from error

