"""
The Bundle: named N-d variables with dims, coordinates and attrs (after xarray's Dataset), the data
passed between pipeline steps. Same model and rules as the TypeScript Bundle
(packages/core/src/bundle/bundle.ts and validate.ts), so a bundle means the same in both languages.

Stored forms (what `variable(name).data` holds):
    int8..int64, uint8..uint64, float32, float64, bool   native little-endian numpy arrays
    string                                               object arrays of str
    datetime64[ns]                                       datetime64[ns] arrays (NaT kept)
Arrays are C-contiguous, read-only views: a bundle never changes behind its producer's back, and a
bundle read from disk maps its files instead of copying them. Copy an array before writing into it.
"""
from __future__ import annotations

import copy
import datetime as _dt
import math
import sys
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from ._deps import loaded, optional, require_numpy

__all__ = ["Bundle", "BundleError", "Variable", "TABLE_DIM", "DTYPES"]

TABLE_DIM = "row"
"""The dimension of tables (dicts of 1-d columns, DataFrames), as in the TypeScript Bundle.fromTable."""

DTYPES = (
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float32", "float64", "bool", "string", "datetime64[ns]",
)  # fmt: skip
"""Element types a variable can hold; the same names as the TypeScript DType."""

_SUPPORTED = "int8..int64, uint8..uint64, float32, float64, bool, str, datetime64"
_BUNDLE_RESERVED_ATTRS = ("coordinates", "_maelstrom_order")
_VARIABLE_RESERVED_ATTRS = ("_ARRAY_DIMENSIONS", "coordinates")
_MAX_ATTR_DEPTH = 64
_NAT = -(2**63)
_MAX_NS = 2**63 - 1
# Nanoseconds per unit of the datetime64 units that convert exactly by multiplication.
_NS_PER_UNIT = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9, "D": 86400 * 10**9, "W": 7 * 86400 * 10**9}


class BundleError(ValueError):
    """Data that cannot be a bundle (or a bundle store that cannot be read); the message says what was expected."""


def _describe(value: Any) -> str:
    """A short description of a value's type for messages: "a list of length 3", "a float (1.5)"."""
    np = sys.modules.get("numpy")
    if value is None:
        return "None"
    if isinstance(value, bool):
        return f"a bool ({value})"
    if isinstance(value, (int, float)):
        return f"a{'n' if type(value).__name__[0] in 'aeiou' else ''} {type(value).__name__} ({value!r})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:40] + "…"
        return f"a str ({shown!r})"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of length {len(value)}"
    if isinstance(value, dict):
        keys = ", ".join(map(str, list(value)[:5])) + (", …" if len(value) > 5 else "")
        return f"a dict (keys: {keys})" if value else "an empty dict"
    if np is not None and isinstance(value, np.ndarray):
        return f"a numpy array of dtype {value.dtype} and shape {value.shape}"
    if np is not None and isinstance(value, np.generic):
        return f"a numpy {value.dtype} ({value!r})"
    kind = type(value)
    module = kind.__module__.split(".")[0]
    return f"a {kind.__qualname__ if module == 'builtins' else module + '.' + kind.__qualname__}"


def _check_name(name: Any, what: str) -> str:
    """Names become directory names in the Zarr store and keys in xarray (same rules as validate.ts)."""
    if not isinstance(name, str) or name == "":
        raise BundleError(f"{what} name must be a non-empty string, got {_describe(name)}")
    if "/" in name or "\\" in name or "\0" in name:
        raise BundleError(f"{what} name '{name}' must not contain '/', '\\' or NUL (it becomes a directory name in the Zarr store)")
    if name.startswith("."):
        raise BundleError(f"{what} name '{name}' must not start with '.' (names like '.zattrs' are Zarr metadata files)")
    return name


# ---------------------------------------------------------------------------------------------
# Attrs


def _copy_attr(value: Any, path: str, depth: int) -> Any:
    if depth > _MAX_ATTR_DEPTH:
        raise BundleError(f"{path}: attrs nest deeper than {_MAX_ATTR_DEPTH} levels (a cycle?)")
    np = sys.modules.get("numpy")
    if value is None or isinstance(value, (bool, str)):
        return str(value) if isinstance(value, str) else value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if np is not None:
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, np.integer):
            return int(value)
        if isinstance(value, np.floating) and value.dtype.itemsize <= 8:
            return float(value)
        if isinstance(value, np.ndarray) and value.dtype.kind in "biufU":
            return _copy_attr(value.tolist(), path, depth)
    if isinstance(value, (list, tuple)):
        return [_copy_attr(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)]
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise BundleError(f"{path}: attribute keys must be strings, got {_describe(key)}")
            out[key] = _copy_attr(item, f"{path}.{key}", depth + 1)
        return out
    hint = " (store it as an ISO string)" if isinstance(value, (_dt.date, _dt.time)) else ""
    raise BundleError(f"{path} is {_describe(value)}; attrs must be JSON-like: str, int, float, bool, None, lists or dicts{hint}")


def _normalize_attrs(attrs: Any, where: str, reserved: Iterable[str]) -> dict:
    if attrs is None:
        return {}
    if not isinstance(attrs, Mapping):
        raise BundleError(f"{where}: attrs must be a dict of JSON-like values, got {_describe(attrs)}")
    for key in reserved:
        if key in attrs:
            raise BundleError(f"{where}: attribute '{key}' is reserved (Maelstrom writes it for xarray); rename it")
    return _copy_attr(attrs, f"{where}: attrs", 0)


# ---------------------------------------------------------------------------------------------
# Data


def _readonly(array):
    """A read-only view (the caller's own array stays writable); memmaps stay memmaps."""
    view = array.view()
    view.flags.writeable = False
    return view


def _datetime_to_ns(label: str, array):
    """datetime64 of any unit as datetime64[ns], NaT kept, refusing values outside ns's range."""
    np = require_numpy("maelstrom.Bundle")
    unit, count = np.datetime_data(array.dtype)
    if unit == "ns" and count == 1:
        return array
    if unit == "generic":
        return array.astype("datetime64[ns]")
    if unit in ("Y", "M"):  # calendar units: numpy converts them to days exactly
        array = array.astype("datetime64[D]")
        unit = "D"
    factor = _NS_PER_UNIT.get(unit)
    if factor is None:
        raise BundleError(f"{label}: datetime64[{unit}] is finer than nanoseconds; convert it with .astype('datetime64[ns]') (truncates) first")
    factor *= count
    values = array.view(np.int64)
    nat = values == _NAT
    low = -((-(_NAT + 1)) // factor)  # ceil((NAT + 1) / factor)
    high = _MAX_NS // factor
    outside = ~nat & ((values < low) | (values > high))
    if outside.any():
        index = int(np.flatnonzero(outside.reshape(-1))[0])
        raise BundleError(f"{label}: element {index} ({array.reshape(-1)[index]}) does not fit datetime64[ns] (years 1678–2262)")
    scaled = np.where(nat, np.int64(_NAT), values * np.int64(factor))
    return scaled.view("datetime64[ns]")


def _dtype_name(dtype) -> str:
    if dtype.kind == "O":
        return "string"
    if dtype.kind == "M":
        return "datetime64[ns]"
    return dtype.name  # int8 .. float64, bool


def _first_non_string(flat) -> tuple[int, Any]:
    for i, item in enumerate(flat):
        if not isinstance(item, str):
            return i, item
    return -1, None


def _normalize_array(label: str, array):
    """A supported, native little-endian, C-contiguous, read-only array; copies only when it must."""
    np = require_numpy("maelstrom.Bundle")
    if isinstance(array, np.ma.MaskedArray):
        raise BundleError(f"{label}: masked arrays are not supported; fill the masked values first (e.g. array.filled(np.nan))")
    if type(array) is not np.ndarray and not isinstance(array, np.memmap):
        array = np.asarray(array)
    dtype = array.dtype
    kind = dtype.kind
    if kind in "iu" and dtype.itemsize in (1, 2, 4, 8) or kind == "f" and dtype.itemsize in (4, 8) or kind == "b":
        if dtype.byteorder not in ("=", "|", "<" if sys.byteorder == "little" else ">"):
            array = array.astype(dtype.newbyteorder("="))
    elif kind == "f":
        better = "float32" if dtype.itemsize < 4 else "float64"
        raise BundleError(f"{label}: dtype {dtype.name} is not supported; convert it with .astype('{better}') (supported: {_SUPPORTED})")
    elif kind == "M":
        if dtype.byteorder not in ("=", "|", "<" if sys.byteorder == "little" else ">"):
            array = array.astype(dtype.newbyteorder("="))
        array = _datetime_to_ns(label, array)
    elif kind == "U":
        array = array.astype(object)
    elif kind == "O":
        flat = array.reshape(-1)
        if not all(issubclass(t, str) for t in set(map(type, flat))):
            index, item = _first_non_string(flat)
            missing = " (missing strings are not supported: use '' instead)" if item is None or isinstance(item, float) and math.isnan(item) else ""
            raise BundleError(
                f"{label}: object array holds {_describe(item)} at element {index}; object arrays must hold only str{missing} (supported: {_SUPPORTED})"
            )
    elif kind == "c":
        raise BundleError(f"{label}: complex numbers ({dtype.name}) are not supported; store the real and imaginary parts as two float variables")
    elif kind == "m":
        raise BundleError(f"{label}: timedelta64 is not supported; store durations as numbers (e.g. seconds as float64) with attrs={{'units': 's'}}")
    elif kind == "S":
        raise BundleError(f"{label}: bytes (dtype {dtype.str}) are not strings; decode them first, e.g. np.char.decode(array, 'utf-8')")
    else:
        raise BundleError(f"{label}: dtype {dtype} is not supported (supported: {_SUPPORTED})")
    if not array.flags.c_contiguous:
        array = np.ascontiguousarray(array)
    return _readonly(array)




def _kind_of(value_type: type) -> str | None:
    np = sys.modules["numpy"]
    if issubclass(value_type, (bool, np.bool_)):
        return "bool"
    if issubclass(value_type, (int, np.integer)):
        return "int"
    if issubclass(value_type, (float, np.floating)):
        return "float"
    if issubclass(value_type, str):
        return "str"
    if issubclass(value_type, (_dt.date, np.datetime64)):
        return "datetime"
    return None


def _bad_element(label: str, index: int, item: Any) -> BundleError:
    if item is None:
        return BundleError(f"{label}: element {index} is None; missing values are not supported in lists (use float('nan') for numbers, '' for strings, np.datetime64('NaT') for times)")
    if isinstance(item, (list, tuple)) or type(item).__name__ == "ndarray":
        return BundleError(
            f"{label}: element {index} is {_describe(item)}; nested lists are not supported here: a column is flat. "
            "For N-d data give the dims: (dims, array) or {'dims': ..., 'data': ...}"
        )
    if isinstance(item, (bytes, bytearray)):
        return BundleError(f"{label}: element {index} is bytes; decode it to str first")
    return BundleError(f"{label}: element {index} is {_describe(item)}; expected numbers, strings, booleans or datetimes")


def _datetime64(item: Any):
    """One datetime-like value as numpy.datetime64, time zones converted to UTC (as numpy's naive times are)."""
    np = sys.modules["numpy"]
    if hasattr(item, "to_datetime64"):  # pandas.Timestamp: keeps nanoseconds
        if item.tzinfo is not None:
            item = item.tz_convert("UTC").tz_localize(None)
        return item.to_datetime64()
    if isinstance(item, _dt.datetime) and item.tzinfo is not None:
        item = item.astimezone(_dt.timezone.utc).replace(tzinfo=None)
    return np.datetime64(item)


def _from_flat_list(label: str, flat: list, shape: tuple):
    """A flat Python list as an array of the one type its elements share (as validate.ts's convertArray)."""
    np = require_numpy("maelstrom.Bundle")
    types = set(map(type, flat))
    kinds = {}
    for t in types:
        kind = _kind_of(t)
        if kind is None:
            index = next(i for i, item in enumerate(flat) if type(item) is t)
            raise _bad_element(label, index, flat[index])
        kinds[t] = kind
    found = set(kinds.values())
    if found == {"int", "float"}:
        found = {"float"}
    if len(found) > 1:
        first_kind = kinds[type(flat[0])]
        index = next(i for i, item in enumerate(flat) if kinds[type(item)] != first_kind and {first_kind, kinds[type(item)]} != {"int", "float"})
        raise BundleError(
            f"{label}: mixes types: element 0 is {_describe(flat[0])} but element {index} is {_describe(flat[index])}; all elements must have one type"
        )
    kind = found.pop() if found else "float"
    if kind == "float":
        array = np.array(flat, dtype=np.float64)
    elif kind == "bool":
        array = np.array(flat, dtype=bool)
    elif kind == "int":
        try:
            array = np.array(flat, dtype=np.int64)
        except OverflowError:
            try:
                array = np.array(flat, dtype=np.uint64)
            except OverflowError:
                index = next(i for i, item in enumerate(flat) if not -(2**63) <= int(item) < 2**64)
                raise BundleError(f"{label}: element {index} ({flat[index]}) does not fit int64 or uint64") from None
    elif kind == "str":
        array = np.empty(len(flat), dtype=object)
        array[:] = [str(item) for item in flat]
    else:
        try:
            values = [_datetime64(item) for item in flat]
            array = np.array(values) if values else np.array([], dtype="datetime64[ns]")
        except (ValueError, OverflowError) as error:
            raise BundleError(f"{label}: cannot convert the datetimes ({error})") from None
    return array.reshape(shape)


def _nested_to_flat(label: str, data: list) -> tuple[list, tuple]:
    """Flattens rectangular nested lists (C order), naming where they are ragged."""
    np = sys.modules["numpy"]
    shape: list[int] = []
    level: list = [data]
    while level and isinstance(level[0], (list, tuple, np.ndarray)):
        sequences = [isinstance(item, (list, tuple, np.ndarray)) for item in level]
        if not all(sequences):
            index = sequences.index(False)
            raise BundleError(f"{label}: ragged nested lists: at depth {len(shape)} item {index} is {_describe(level[index])} where the others are lists; N-d data must be rectangular")
        lengths = {len(item) for item in level}
        if len(lengths) > 1:
            a, b = sorted(lengths)[:2]
            raise BundleError(f"{label}: ragged nested lists: rows at depth {len(shape)} have lengths {a} and {b}; N-d data must be rectangular")
        shape.append(lengths.pop())
        level = [x for item in level for x in (item.tolist() if isinstance(item, np.ndarray) else item)]
    return level, tuple(shape)


def _to_array(label: str, data: Any, nested: bool):
    """Whatever was given as a variable's data, as a normalized array."""
    np = require_numpy("maelstrom.Bundle")
    pd = loaded("pandas")
    if pd is not None and isinstance(data, (pd.Series, pd.Index)):
        return _normalize_array(label, _pandas_values(label, data))
    if isinstance(data, np.ndarray):
        return _normalize_array(label, data)
    if isinstance(data, (list, tuple)):
        if nested:
            flat, shape = _nested_to_flat(label, list(data))
        else:
            flat, shape = list(data), (len(data),)
        return _normalize_array(label, _from_flat_list(label, flat, shape))
    if isinstance(data, np.generic):
        return _normalize_array(label, np.asarray(data))  # keeps the scalar's dtype (np.int32(4) stays int32)
    if _kind_of(type(data)) is not None:
        return _normalize_array(label, _from_flat_list(label, [data], ()))
    if isinstance(data, Mapping):
        raise BundleError(f"{label}: nested dicts are not supported; give {{'dims': (...), 'data': array, 'attrs': {{...}}}} or flatten the names (e.g. '{label.split(chr(39))[1]}_a')")
    if data is None:
        raise BundleError(f"{label}: data is None; expected an array, a list or a scalar")
    raise BundleError(f"{label}: data must be a numpy array, a list or a scalar, got {_describe(data)}")


def _pandas_values(label: str, series: Any):
    """The numpy values of a pandas Series/Index: categories as their values, nullable dtypes resolved, time zones to UTC."""
    np = sys.modules["numpy"]
    pd = sys.modules["pandas"]
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        values = np.asarray(series)
        if series.isna().any() and values.dtype.kind == "O":
            raise BundleError(f"{label}: categorical column has missing values; fill them first (e.g. .cat.add_categories('').fillna(''))")
        return values
    if isinstance(dtype, pd.DatetimeTZDtype):
        return np.asarray(series.tz_convert("UTC").tz_localize(None) if isinstance(series, pd.Index) else series.dt.tz_convert("UTC").dt.tz_localize(None))
    if isinstance(dtype, np.dtype):
        return series.to_numpy()
    # pandas extension dtypes: nullable Int64/boolean/Float64/string, periods, intervals, sparse ...
    numpy_dtype = getattr(dtype, "numpy_dtype", None)
    if isinstance(dtype, pd.StringDtype):
        if series.isna().any():
            raise BundleError(f"{label}: string column has missing values (<NA>); fill them first (e.g. .fillna(''))")
        return series.to_numpy(dtype=object)
    if numpy_dtype is None:
        raise BundleError(f"{label}: pandas dtype {dtype} is not supported (supported: {_SUPPORTED})")
    if numpy_dtype.kind == "f":
        return series.to_numpy(dtype=numpy_dtype, na_value=np.nan)
    if series.isna().any():
        raise BundleError(f"{label}: {dtype} column has missing values (<NA>); fill them (e.g. .fillna(0)) or convert the column to float (NaN)")
    return series.to_numpy(dtype=numpy_dtype)


def _apply_dtype(label: str, array, dtype: Any):
    np = sys.modules["numpy"]
    name = str(dtype)
    target = object if name in ("string", "str") else np.dtype(name)
    if target is object:
        if array.dtype.kind != "O":
            raise BundleError(f"{label}: {_dtype_name(array.dtype)} data cannot have dtype 'string'; pass strings")
        return array
    if array.dtype == target:
        return array
    try:
        converted = array.astype(target)
    except (TypeError, ValueError) as error:
        raise BundleError(f"{label}: cannot convert {_dtype_name(array.dtype)} data to dtype {name} ({error})") from None
    if target.kind in "iub" and array.dtype.kind in "iufb":
        with np.errstate(invalid="ignore"):
            if not np.array_equal(converted.astype(array.dtype), array):
                raise BundleError(f"{label}: values do not fit dtype {name} exactly (out of range or not whole numbers)")
    return _normalize_array(label, converted)


@dataclass(frozen=True, eq=False)
class Variable:
    """One named array of a bundle: dims, shape, dtype name (see DTYPES), read-only data, attrs."""

    name: str
    dims: tuple
    shape: tuple
    dtype: str
    data: Any
    attrs: dict

    def __repr__(self) -> str:
        return f"<maelstrom.Variable {self.name} ({', '.join(self.dims)}) {self.dtype} {list(self.shape)}>"


def _make_variable(name: str, dims: Any, data: Any, attrs: Any, what: str, *, nested: bool, dtype: Any = None, shape: Any = None) -> Variable:
    _check_name(name, what)
    label = f"{what} '{name}'"
    if isinstance(dims, str):
        dims = (dims,)
    if not isinstance(dims, (list, tuple)) or not all(isinstance(d, str) and d != "" for d in dims):
        raise BundleError(f"{label}: dims must be a tuple of non-empty strings like ('time', 'lat'), got {_describe(dims)}")
    dims = tuple(dims)
    for i, d in enumerate(dims):
        if d in dims[:i]:
            raise BundleError(f"{label}: dimension '{d}' appears twice in dims ({', '.join(dims)})")
    array = _to_array(label, data, nested)
    if dtype is not None:
        if str(dtype) not in DTYPES and str(dtype) != "str":
            raise BundleError(f"{label}: unknown dtype {dtype!r}; expected one of {', '.join(DTYPES)}")
        array = _apply_dtype(label, array, dtype)
    if shape is not None:
        if not isinstance(shape, (list, tuple)) or not all(isinstance(s, int) and s >= 0 for s in shape):
            raise BundleError(f"{label}: shape must be a tuple of non-negative integers, got {_describe(shape)}")
        if math.prod(shape) != array.size:
            raise BundleError(f"{label}: shape {list(shape)} holds {math.prod(shape)} values but data has {array.size}")
        array = _readonly(array.reshape(tuple(shape)))
    if array.ndim != len(dims):
        raise BundleError(
            f"{label}: dims ({', '.join(dims)}) have {len(dims)} entries but the data is {array.ndim}-d with shape {list(array.shape)}; give one dim per axis"
        )
    return Variable(name, dims, tuple(int(s) for s in array.shape), _dtype_name(array.dtype), array, _normalize_attrs(attrs, label, _VARIABLE_RESERVED_ATTRS))


_SPEC_KEYS = {"dims", "data", "attrs", "dtype", "shape"}


def _variable_from_value(name: Any, value: Any, what: str, default_dims) -> tuple[Variable, bool]:
    """One entry of a dict given to Bundle: returns the variable and whether its dims were implied (a table column)."""
    np = require_numpy("maelstrom.Bundle")
    _check_name(name, what)
    label = f"{what} '{name}'"
    xr = loaded("xarray")
    if xr is not None and isinstance(value, xr.DataArray):
        return _make_variable(name, value.dims, value.values, value.attrs, what, nested=False), False
    if isinstance(value, tuple):
        dims = value[0] if value else None
        if len(value) not in (2, 3) or not (isinstance(dims, str) or isinstance(dims, (list, tuple)) and all(isinstance(d, str) for d in dims)):
            raise BundleError(
                f"{label}: a tuple is read as (dims, data) or (dims, data, attrs) with dims like ('time', 'lat'), got {_describe(value)}; "
                "for a column of values pass a list or a numpy array"
            )
        return _make_variable(name, value[0], value[1], value[2] if len(value) == 3 else None, what, nested=True), False
    if isinstance(value, Mapping):
        if "dims" not in value or "data" not in value:
            raise BundleError(
                f"{label} is a dict without 'dims' and 'data'; nested dicts are not supported: give {{'dims': (...), 'data': array, 'attrs': {{...}}}} "
                f"or flatten the names (e.g. '{name}_{next(iter(value), 'a')}')"
            )
        unknown = sorted(set(value) - _SPEC_KEYS)
        if unknown:
            raise BundleError(f"{label}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; expected dims, data, attrs, dtype, shape")
        return _make_variable(name, value["dims"], value["data"], value.get("attrs"), what, nested=True, dtype=value.get("dtype"), shape=value.get("shape")), False
    array = _to_array(label, value, nested=False)
    if array.ndim > 1:
        example = ", ".join(f"'dim{i}'" for i in range(array.ndim))
        raise BundleError(f"{label} is a {array.ndim}-d array (shape {list(array.shape)}); give its dims: Bundle({{'{name}': (({example}), array)}})")
    dims = () if array.ndim == 0 else default_dims(name)
    return Variable(name, dims, tuple(int(s) for s in array.shape), _dtype_name(array.dtype), array, {}), array.ndim == 1


# ---------------------------------------------------------------------------------------------
# The bundle


def _check_bundle(variables: Mapping[str, Variable], coords: Mapping[str, Variable]) -> dict:
    """Dimension sizes across the bundle, and the name rules xarray needs (as bundle.ts)."""
    sizes: dict[str, tuple[int, str]] = {}
    for v in list(variables.values()) + list(coords.values()):
        for dim, size in zip(v.dims, v.shape):
            seen = sizes.get(dim)
            if seen is None:
                sizes[dim] = (size, v.name)
            elif seen[0] != size:
                raise BundleError(f"dimension '{dim}' has size {seen[0]} in '{seen[1]}' but size {size} in '{v.name}'; a dimension has one size across the bundle")
    for name in variables:
        if name in coords:
            raise BundleError(f"'{name}' is given both as a data variable and as a coordinate; use one name once")
        if name in sizes:
            raise BundleError(
                f"data variable '{name}' has the same name as a dimension; xarray treats it as that dimension's coordinate: pass it in coords (1-d on '{name}') or rename it"
            )
    for c in coords.values():
        is_dim_coord = c.dims == (c.name,)
        if c.name in sizes and not is_dim_coord:
            raise BundleError(f"coordinate '{c.name}' has the same name as a dimension, so it must be 1-d along '{c.name}' (dims ({c.name},)), but it has dims ({', '.join(c.dims)})")
        if not is_dim_coord and any(ch.isspace() for ch in c.name):
            raise BundleError(f"coordinate '{c.name}' must not contain whitespace (xarray lists coordinates in a space-separated attribute)")
    return {dim: size for dim, (size, _) in sizes.items()}


class Bundle:
    """Named N-d variables with dims, coordinates and attrs: the data passed between steps.

    Bundle({"temp_max": [12.8, 10.6], "weather": ["rain", "sun"]})        a table on dim "row"
    Bundle({"t2m": (("time", "lat"), array)}, coords={"time": times})    N-d variables
    Bundle({"t2m": {"dims": ("time",), "data": values, "attrs": {"units": "K"}}})
    Bundle(dataframe)                                                    columns on dim "row"
    Bundle(dataset)                                                      an xarray.Dataset
    """

    __slots__ = ("_variables", "_coords", "_attrs", "_dims")

    def __init__(self, data: Any = None, attrs: Mapping[str, Any] | None = None, *, coords: Mapping[str, Any] | None = None):
        require_numpy("maelstrom.Bundle")
        if attrs is not None and not isinstance(attrs, Mapping):
            raise BundleError(f"bundle: attrs must be a dict of JSON-like values, got {_describe(attrs)}")
        variables, implied_coords, base_attrs = _parse_data(data)
        given_coords = _parse_coords(coords, variables, implied_coords)
        for name in given_coords:
            if name in implied_coords:
                raise BundleError(f"coordinate '{name}' is given twice: in the data and in coords")
        merged = {**base_attrs, **(attrs or {})}
        self._init(variables, {**implied_coords, **given_coords}, _normalize_attrs(merged, "bundle", _BUNDLE_RESERVED_ATTRS))

    def _init(self, variables: dict, coords: dict, attrs: dict) -> None:
        self._dims = _check_bundle(variables, coords)
        self._variables = variables
        self._coords = coords
        self._attrs = attrs

    @classmethod
    def _build(cls, variables: dict, coords: dict, attrs: dict) -> "Bundle":
        """From already normalized variables (reading a store, selecting): no copies, same checks."""
        bundle = cls.__new__(cls)
        bundle._init(variables, coords, attrs)
        return bundle

    # -- contents ---------------------------------------------------------------------------

    @property
    def variables(self) -> list[str]:
        """Data variable names, in insertion order."""
        return list(self._variables)

    @property
    def coords(self) -> list[str]:
        """Coordinate names, in insertion order."""
        return list(self._coords)

    @property
    def attrs(self) -> dict:
        """Bundle-level attributes (a copy: changing it does not change the bundle)."""
        return copy.deepcopy(self._attrs)

    @property
    def dims(self) -> dict[str, int]:
        """Dimension name -> size over all variables and coordinates, in order of first appearance."""
        return dict(self._dims)

    @property
    def nbytes(self) -> int:
        """In-memory size of the data (strings counted as their UTF-8 bytes)."""
        total = 0
        for v in list(self._variables.values()) + list(self._coords.values()):
            total += sum(len(s.encode("utf-8", "surrogatepass")) for s in v.data.reshape(-1)) if v.dtype == "string" else v.data.nbytes
        return total

    def has(self, name: str) -> bool:
        return name in self._variables or name in self._coords

    __contains__ = has

    def variable(self, name: str) -> Variable:
        """A data variable or coordinate by name: dims, shape, dtype, data (read-only array), attrs."""
        found = self._variables.get(name) or self._coords.get(name)
        if found is None:
            names = self.variables + self.coords
            raise BundleError(f"bundle has no variable '{name}'; it has: {', '.join(names) if names else '(none)'}")
        return Variable(found.name, found.dims, found.shape, found.dtype, found.data, copy.deepcopy(found.attrs))

    def to_numpy(self, name: str):
        """The values of a variable or coordinate as a read-only numpy array (copy it to modify it)."""
        return self.variable(name).data

    def to_dict(self) -> dict:
        """Data variables then coordinates, name -> numpy array."""
        return {name: v.data for name, v in list(self._variables.items()) + list(self._coords.items())}

    def select(self, names: Iterable[str]) -> "Bundle":
        """Only these data variables, in this order, with the coordinates they still use."""
        if isinstance(names, str):
            names = [names]
        chosen = {}
        for name in names:
            if name not in self._variables:
                if name in self._coords:
                    raise BundleError(f"select(): '{name}' is a coordinate, not a data variable; coordinates follow the data variables that use their dimensions")
                self.variable(name)
            chosen[name] = self._variables[name]
        used = {d for v in chosen.values() for d in v.dims}
        coords = {n: c for n, c in self._coords.items() if all(d in used for d in c.dims)}
        return Bundle._build(chosen, coords, self._attrs)

    def _table_dim(self) -> str | None:
        """The dimension of a table (every data variable 1-d on it, every coordinate 1-d on it), else None."""
        dims = {v.dims for v in self._variables.values()} | {c.dims for c in self._coords.values()}
        if not dims:
            return TABLE_DIM
        if len(dims) == 1:
            (only,) = dims
            if len(only) == 1 and (only[0] == TABLE_DIM or only[0] not in self._coords):
                return only[0]
        return None

    @property
    def value(self) -> Any:
        """The natural form: a pandas.DataFrame for a table (when pandas is installed), an
        xarray.Dataset for gridded data (when xarray is installed), else a dict of numpy arrays."""
        if self._table_dim() is not None:
            if _importable("pandas"):
                return self.to_pandas()
            return _ArrayDict(self.to_dict(), missing="pandas", form="a pandas.DataFrame")
        if _importable("xarray"):
            return self.to_xarray()
        return _ArrayDict(self.to_dict(), missing="xarray", form="an xarray.Dataset")

    def to_pandas(self):
        """The data variables as DataFrame columns (all 1-d on one dimension). The index is the
        dimension's coordinate, or the one other coordinate on it, else a RangeIndex."""
        pd = optional("pandas", "Bundle.to_pandas()")
        dim = None
        for v in self._variables.values():
            if len(v.dims) != 1:
                raise BundleError(f"to_pandas() needs every data variable to be 1-d on the same dimension, but '{v.name}' has dims ({', '.join(v.dims)}); use to_xarray() for N-d data")
            if dim is None:
                dim = v.dims[0]
            elif v.dims[0] != dim:
                raise BundleError(f"to_pandas() needs every data variable on the same dimension, but they use '{dim}' and '{v.dims[0]}'; select() the variables of one table first")
        on_dim = [c for c in self._coords.values() if len(c.dims) == 1 and (dim is None or c.dims[0] == dim)]
        index_coord = next((c for c in on_dim if c.name == c.dims[0]), None) or (on_dim[0] if len(on_dim) == 1 else None)
        columns = {name: v.data for name, v in self._variables.items()}
        for c in on_dim:
            if c is not index_coord and c.name not in columns:
                columns[c.name] = c.data
        index = pd.Index(index_coord.data, name=index_coord.name, copy=True) if index_coord is not None else None
        frame = pd.DataFrame(columns, index=index, copy=True)
        frame.attrs = self.attrs
        return frame

    def to_xarray(self):
        """An xarray.Dataset over the same (read-only) arrays."""
        xr = optional("xarray", "Bundle.to_xarray()")
        variables = {n: (v.dims, v.data, copy.deepcopy(v.attrs)) for n, v in self._variables.items()}
        coords = {n: (c.dims, c.data, copy.deepcopy(c.attrs)) for n, c in self._coords.items()}
        return xr.Dataset(variables, coords=coords, attrs=self.attrs)

    def __repr__(self) -> str:
        line = lambda v: f"    {v.name} ({', '.join(v.dims)}) {v.dtype} {list(v.shape)}"  # noqa: E731
        parts = ["<maelstrom.Bundle (" + ", ".join(f"{d}: {s}" for d, s in self._dims.items()) + ")"]
        if self._coords:
            parts += ["  coords:"] + [line(c) for c in self._coords.values()]
        parts += ["  variables:"] + [line(v) for v in self._variables.values()]
        if self._attrs:
            parts.append(f"  attrs: {self._attrs}")
        return "\n".join(parts) + ">"


class _ArrayDict(dict):
    """bundle.value without pandas/xarray: a plain dict of arrays, whose missing attributes
    (df.dropna, ds.sel, ...) say why it is not a DataFrame or Dataset."""

    def __init__(self, arrays: dict, *, missing: str, form: str):
        super().__init__(arrays)
        self._why = (missing, form)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_why":
            raise AttributeError(name)
        missing, form = self.__dict__.get("_why", ("pandas", "a pandas.DataFrame"))
        from ._deps import install_hint, interpreter

        raise AttributeError(
            f"'dict' object has no attribute '{name}': bundle.value is a dict of numpy arrays, not {form}, because {missing} "
            f"is not installed for {interpreter()} ({install_hint(missing)})"
        )


def _importable(name: str) -> bool:
    if sys.modules.get(name) is not None:
        return True
    try:
        __import__(name)
        return True
    except ImportError:
        return False


def _parse_data(data: Any) -> tuple[dict, dict, dict]:
    """(variables, coords, attrs) from any accepted input form."""
    if data is None:
        return {}, {}, {}
    if isinstance(data, Bundle):
        return dict(data._variables), dict(data._coords), copy.deepcopy(data._attrs)
    pd = loaded("pandas")
    if pd is not None and isinstance(data, pd.DataFrame):
        return _from_dataframe(data)
    xr = loaded("xarray")
    if xr is not None and isinstance(data, xr.Dataset):
        return _from_dataset(data)
    if isinstance(data, Mapping):
        return _from_mapping(data)
    hint = ""
    np = sys.modules.get("numpy")
    if np is not None and isinstance(data, np.ndarray) or isinstance(data, (list, tuple)):
        hint = "; name it: Bundle({'x': values})"
    elif pd is not None and isinstance(data, pd.Series):
        hint = "; name it: Bundle(series.to_frame()) or Bundle({'x': series})"
    elif xr is not None and isinstance(data, xr.DataArray):
        hint = "; name it: Bundle(data_array.to_dataset(name='x'))"
    raise BundleError(f"Bundle expects a dict of arrays, a pandas.DataFrame or an xarray.Dataset, got {_describe(data)}{hint}")


def _from_mapping(data: Mapping) -> tuple[dict, dict, dict]:
    variables: dict[str, Variable] = {}
    column: tuple[str, int] | None = None
    for name, value in data.items():
        variable, is_column = _variable_from_value(name, value, "variable", lambda _name: (TABLE_DIM,))
        if is_column:
            if name == TABLE_DIM:
                raise BundleError(f"column '{TABLE_DIM}' clashes with the table dimension '{TABLE_DIM}'; rename the column")
            if column is None:
                column = (name, variable.shape[0])
            elif column[1] != variable.shape[0]:
                raise BundleError(f"column '{name}' has {variable.shape[0]} values but column '{column[0]}' has {column[1]}; all columns of a table must have the same length")
        variables[name] = variable
    return variables, {}, {}


def _parse_coords(coords: Any, variables: dict, existing: dict) -> dict:
    if coords is None:
        return {}
    if not isinstance(coords, Mapping):
        raise BundleError(f"coords must be a dict mapping names to arrays or (dims, data) tuples, got {_describe(coords)}")
    used = {d for v in list(variables.values()) + list(existing.values()) for d in v.dims}
    # A bare 1-d coordinate named after a dimension lies along it (xarray's rule); else along the table's rows.
    default = lambda name: (name,) if name in used or TABLE_DIM not in used else (TABLE_DIM,)  # noqa: E731
    return {name: _variable_from_value(name, value, "coordinate", default)[0] for name, value in coords.items()}


def _from_dataframe(frame: Any) -> tuple[dict, dict, dict]:
    pd = sys.modules["pandas"]
    if isinstance(frame.columns, pd.MultiIndex):
        raise BundleError("DataFrame has MultiIndex columns; flatten them first (e.g. df.columns = ['_'.join(map(str, c)) for c in df.columns])")
    if frame.columns.has_duplicates:
        duplicate = frame.columns[frame.columns.duplicated()][0]
        raise BundleError(f"DataFrame has the column name {duplicate!r} more than once; column names must be unique")
    variables = {}
    for name in frame.columns:
        if not isinstance(name, str):
            raise BundleError(f"DataFrame column names must be strings, got {_describe(name)}; rename them (e.g. df.columns = df.columns.astype(str))")
        if name == TABLE_DIM:
            raise BundleError(f"column '{TABLE_DIM}' clashes with the table dimension '{TABLE_DIM}'; rename the column")
        label = f"column '{name}'"
        _check_name(name, "column")
        array = _normalize_array(label, _pandas_values(label, frame[name]))
        variables[name] = Variable(name, (TABLE_DIM,), tuple(array.shape), _dtype_name(array.dtype), array, {})
    coords = {}
    index = frame.index
    if isinstance(index, pd.MultiIndex):
        raise BundleError("DataFrame has a MultiIndex; turn its levels into columns first with df.reset_index()")
    # An unnamed integer index is positional (0..n-1, or what is left after filtering): dropped.
    if index.name is not None or index.dtype.kind not in "iu":
        name = "index" if index.name is None else index.name
        if not isinstance(name, str):
            raise BundleError(f"DataFrame index name must be a string, got {_describe(name)}")
        if name in variables:
            raise BundleError(f"DataFrame index '{name}' has the same name as a column; rename one (or df.reset_index(drop=True))")
        label = f"index '{name}'"
        _check_name(name, "index")
        array = _normalize_array(label, _pandas_values(label, index))
        coords[name] = Variable(name, (TABLE_DIM,), tuple(array.shape), _dtype_name(array.dtype), array, {})
    return variables, coords, dict(getattr(frame, "attrs", {}) or {})


def _without(attrs: Mapping, reserved: Iterable[str]) -> dict:
    # A Dataset opened from a bundle store still carries the store's bookkeeping attributes.
    return {k: v for k, v in attrs.items() if k not in reserved}


def _from_dataset(dataset: Any) -> tuple[dict, dict, dict]:
    variables = {}
    for name, var in dataset.data_vars.items():
        variables[name] = _make_variable(name, var.dims, var.values, _without(var.attrs, _VARIABLE_RESERVED_ATTRS), "variable", nested=False)
    coords = {}
    for name, var in dataset.coords.items():
        coords[name] = _make_variable(name, var.dims, var.values, _without(var.attrs, _VARIABLE_RESERVED_ATTRS), "coordinate", nested=False)
    return variables, coords, _without(dataset.attrs, _BUNDLE_RESERVED_ATTRS)
