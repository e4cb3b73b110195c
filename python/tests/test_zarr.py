"""read_bundle / write_bundle: the Zarr v2 layout of packages/core/src/bundle/zarr.ts, byte for byte."""
from __future__ import annotations

import json
import math
import os

import numpy as np

from maelstrom import Bundle, BundleError, read_bundle, write_bundle
from maelstrom._json import canonical_json, js_number

from .support import TempDirTest, have, list_files, read_bytes, require_node, run_ts
import unittest



def every_dtype() -> Bundle:
    """The bundle tests/ts_bundle.mjs builds with Bundle.fromVariables, built from Python."""
    return Bundle(
        {
            "i8": (("n",), np.array([-128, 0, 127], dtype=np.int8)),
            "i16": (("n",), np.array([-32768, 0, 32767], dtype=np.int16)),
            "i32": (("n",), np.array([-2147483648, 0, 2147483647], dtype=np.int32)),
            "i64": (("n",), np.array([-(2**63), 0, 2**63 - 1], dtype=np.int64)),
            "u8": (("n",), np.array([0, 1, 255], dtype=np.uint8)),
            "u16": (("n",), np.array([0, 1, 65535], dtype=np.uint16)),
            "u32": (("n",), np.array([0, 1, 4294967295], dtype=np.uint32)),
            "u64": (("n",), np.array([0, 1, 2**64 - 1], dtype=np.uint64)),
            "f32": (("n",), np.array([math.nan, -0.5, math.inf], dtype=np.float32)),
            "f64": (("n",), [math.nan, 1e-300, -math.inf]),
            "flag": (("n",), [True, False, True]),
            "text": (("n",), ["", "naïve ❄️ 北极", "a\u0000b"]),
            "when": (("n",), np.array(["1970-01-01", "2262-04-11T23:47:16.854775807", "NaT"], dtype="datetime64[ns]")),
            "grid": (("n", "k"), np.arange(1, 7, dtype=np.float32).reshape(3, 2), {"units": "K", "scale": 0.1}),
            "scalar": ((), 42.5),
            "word": ((), "polar"),
        },
        attrs={
            "title": "every dtype",
            "nan": math.nan,
            "inf": [math.inf, -math.inf],
            "deep": {"list": [1, "two", None, True, 1e21, 1e-7, 0.1]},
            "unicode": "Ø ❄️ \U0001F600\uffff",
            "e": 2.5,
        },
        coords={"n": [10.0, 20.0, 30.0], "station": (("n",), ["a", "b", "c"]), "height": 2.0, "orphan": (("q",), np.array([1, 2], dtype=np.int64))},
    )


def assert_same_bundle(test: unittest.TestCase, actual: Bundle, expected: Bundle) -> None:
    test.assertEqual(actual.variables, expected.variables)
    test.assertEqual(actual.coords, expected.coords)
    test.assertEqual(canonical_json(actual.attrs), canonical_json(expected.attrs))  # NaN-aware
    test.assertEqual(actual.dims, expected.dims)
    for name in expected.variables + expected.coords:
        a, e = actual.variable(name), expected.variable(name)
        test.assertEqual((a.dims, a.shape, a.dtype), (e.dims, e.shape, e.dtype), name)
        test.assertEqual(canonical_json(a.attrs), canonical_json(e.attrs), name)
        test.assertEqual(a.data.dtype, e.data.dtype, name)
        if a.dtype in ("float32", "float64", "datetime64[ns]"):
            np.testing.assert_array_equal(a.data, e.data)  # NaN == NaN, NaT == NaT here
        else:
            test.assertEqual(a.data.tolist(), e.data.tolist(), name)


class WriteReadTest(TempDirTest):
    def round_trip(self, bundle: Bundle, chunk_bytes: int | None = None):
        directory = self.fresh()
        write_bundle(bundle, directory) if chunk_bytes is None else write_bundle(bundle, directory, chunk_bytes)
        return directory, read_bundle(directory)

    def read_json(self, path: str):
        with open(path, encoding="utf-8") as f:
            return json.load(f)

    def test_every_dtype_nan_nat_unicode_scalars_and_attrs_round_trip(self):
        bundle = every_dtype()
        for chunk_bytes in (None, 16):
            with self.subTest(chunk_bytes=chunk_bytes):
                _, back = self.round_trip(bundle, chunk_bytes)
                assert_same_bundle(self, back, bundle)
                self.assertEqual(back.to_numpy("text").tolist(), ["", "naïve ❄️ 北极", "a\u0000b"])
                self.assertEqual(back.to_numpy("when")[1].astype(np.int64), 2**63 - 1)
                self.assertTrue(np.isnat(back.to_numpy("when")[2]))
                self.assertTrue(math.isnan(back.attrs["nan"]))
                self.assertEqual(back.attrs["inf"], [math.inf, -math.inf])
                self.assertEqual(back.attrs["unicode"], "Ø ❄️ \U0001F600\uffff")

    def test_each_dtype_alone(self):
        samples = {
            "int8": [-128, 127], "int16": [-32768, 32767], "int32": [-(2**31), 2**31 - 1], "int64": [-(2**63), 2**63 - 1],
            "uint8": [0, 255], "uint16": [0, 65535], "uint32": [0, 2**32 - 1], "uint64": [0, 2**64 - 1],
            "float32": [math.nan, 1.5], "float64": [math.nan, -1e300], "bool": [True, False],
        }  # fmt: skip
        for dtype, values in samples.items():
            with self.subTest(dtype):
                bundle = Bundle({"v": np.array(values, dtype=dtype)})
                _, back = self.round_trip(bundle)
                self.assertEqual(back.variable("v").dtype, dtype)
                np.testing.assert_array_equal(back.to_numpy("v"), bundle.to_numpy("v"))
        for values in (["", "é", "\U0001F600", "a b"], []):
            _, back = self.round_trip(Bundle({"s": np.array(values, dtype=object)}))
            self.assertEqual(back.to_numpy("s").tolist(), values)
        _, back = self.round_trip(Bundle({"t": np.array(["NaT", "1677-09-21T00:12:43.145224193", "2020-02-29T12:00:00.5"], dtype="datetime64[ns]")}))
        self.assertEqual([str(x) for x in back.to_numpy("t")], ["NaT", "1677-09-21T00:12:43.145224193", "2020-02-29T12:00:00.500000000"])

    def test_coords_order_and_xarray_conventions_on_disk(self):
        bundle = Bundle(
            {"zeta": (("time", "lat"), np.arange(6, dtype=np.float32).reshape(2, 3), {"units": "m"}), "alpha": (("time",), ["x", "y"])},
            attrs={"title": "t"},
            coords={
                "time": np.array(["2020-01-01", "2020-01-02"], dtype="datetime64[ns]"),
                "lat": (("lat",), [-10.0, 0.0, 10.0], {"units": "degrees_north"}),
                "station": (("lat",), ["a", "b", "c"]),
                "height": 2.0,
                "orphan": (("q",), np.array([1, 2])),
            },
        )
        directory, back = self.round_trip(bundle)
        assert_same_bundle(self, back, bundle)
        self.assertEqual(self.read_json(os.path.join(directory, "zeta/.zattrs")), {"_ARRAY_DIMENSIONS": ["time", "lat"], "coordinates": "station height", "units": "m"})
        self.assertEqual(self.read_json(os.path.join(directory, "alpha/.zattrs")), {"_ARRAY_DIMENSIONS": ["time"], "coordinates": "height"})
        self.assertEqual(
            self.read_json(os.path.join(directory, ".zattrs")),
            {"title": "t", "coordinates": "orphan", "_maelstrom_order": ["zeta", "alpha", "time", "lat", "station", "height", "orphan"]},
        )

    def test_layout_is_zarr_v2_as_specified(self):
        bundle = Bundle(
            {
                "t": (("y", "x"), np.arange(12, dtype=np.float32).reshape(3, 4) + 0.5),
                "w": (("y",), ["é", "", "abc"]),
                "k": (("y",), np.array([1, -2, 3], dtype=np.int16)),
                "f": (("y",), [True, False, True]),
                "d": (("y",), np.array(["1970-01-01T00:00:00.000000001", "NaT", "1969-12-31"], dtype="datetime64[ns]")),
            },
            attrs={"title": "x"},
        )
        directory = self.fresh()
        write_bundle(bundle, directory, chunk_bytes=32)  # t: 2 rows (32 bytes) per chunk; the others fit in one
        read = lambda f: self.read_json(os.path.join(directory, f))  # noqa: E731
        self.assertEqual(read(".zgroup"), {"zarr_format": 2})
        t = read("t/.zarray")
        self.assertEqual(t, {"chunks": [2, 4], "compressor": None, "dimension_separator": ".", "dtype": "<f4", "fill_value": "NaN", "filters": None, "order": "C", "shape": [3, 4], "zarr_format": 2})
        self.assertEqual(np.frombuffer(read_bytes(os.path.join(directory, "t/0.0")), "<f4").tolist(), [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5])
        t1 = read_bytes(os.path.join(directory, "t/1.0"))
        self.assertEqual(len(t1), 32)
        self.assertEqual(np.frombuffer(t1, "<f4")[:4].tolist(), [8.5, 9.5, 10.5, 11.5])
        w = read("w/.zarray")
        self.assertEqual((w["dtype"], w["filters"], w["fill_value"], w["compressor"]), ("|O", [{"id": "vlen-utf8"}], None, None))
        self.assertEqual(read_bytes(os.path.join(directory, "w/0")), bytes([3, 0, 0, 0, 2, 0, 0, 0, 0xC3, 0xA9, 0, 0, 0, 0, 3, 0, 0, 0, 0x61, 0x62, 0x63]))
        self.assertEqual((read("k/.zarray")["dtype"], read("k/.zarray")["fill_value"]), ("<i2", None))
        self.assertEqual(read_bytes(os.path.join(directory, "k/0")), bytes([1, 0, 0xFE, 0xFF, 3, 0]))
        self.assertEqual(read("f/.zarray")["dtype"], "|b1")
        self.assertEqual(read_bytes(os.path.join(directory, "f/0")), bytes([1, 0, 1]))
        self.assertEqual(read("d/.zarray")["dtype"], "<M8[ns]")
        self.assertEqual(np.frombuffer(read_bytes(os.path.join(directory, "d/0")), "<i8").tolist(), [1, -(2**63), -86_400_000_000_000])
        self.assertEqual(read("d/.zattrs"), {"_ARRAY_DIMENSIONS": ["y"]})
        consolidated = read(".zmetadata")
        self.assertEqual(consolidated["zarr_consolidated_format"], 1)
        self.assertEqual(sorted(consolidated["metadata"]), sorted([".zattrs", ".zgroup"] + [f"{n}/{f}" for n in "dfktw" for f in (".zarray", ".zattrs")]))
        self.assertEqual(consolidated["metadata"]["t/.zarray"], t)
        # Canonical JSON: sorted keys, two-space indent, no trailing newline.
        self.assertEqual(read_bytes(os.path.join(directory, ".zgroup")), b'{\n  "zarr_format": 2\n}')

    def test_chunks_along_the_first_dimension_with_padded_edges(self):
        bundle = Bundle({"v": (("a", "b"), np.arange(30, dtype=np.float64).reshape(10, 3)), "s": (("a",), ["aa", "b", "", "d", "e", "f", "g", "h", "i", "j"])})
        directory, back = self.round_trip(bundle, 4 * 3 * 8)  # 4 rows per chunk
        assert_same_bundle(self, back, bundle)
        self.assertEqual(list_files(os.path.join(directory, "v")), [".zarray", ".zattrs", "0.0", "1.0", "2.0"])
        self.assertEqual(self.read_json(os.path.join(directory, "v/.zarray"))["chunks"], [4, 3])
        self.assertEqual(os.path.getsize(os.path.join(directory, "v/2.0")), 4 * 3 * 8)
        # Strings are chunked by their encoded size: 54 bytes in chunks of about 20 -> 3 items per chunk.
        strings, back = self.round_trip(bundle.select(["s"]), 20)
        assert_same_bundle(self, back, bundle.select(["s"]))
        self.assertEqual(self.read_json(os.path.join(strings, "s/.zarray"))["chunks"], [3])
        self.assertEqual(list_files(os.path.join(strings, "s")), [".zarray", ".zattrs", "0", "1", "2", "3"])
        self.assertEqual(read_bytes(os.path.join(strings, "s/3")), bytes([3, 0, 0, 0, 1, 0, 0, 0, 0x6A, 0, 0, 0, 0, 0, 0, 0, 0]))

    def test_one_chunk_per_64_mib_by_default_and_multi_chunk_reads(self):
        rows = 3 * 1024 * 1024  # 3 Mi rows of 3 float64 = 72 MiB
        big = np.full((rows, 3), 1.5)
        big[-1, -1] = 7.0
        directory, back = self.round_trip(Bundle({"big": (("n", "k"), big)}))
        self.assertEqual(self.read_json(os.path.join(directory, "big/.zarray"))["chunks"], [(64 * 1024 * 1024) // 24, 3])
        self.assertEqual([f for f in list_files(os.path.join(directory, "big")) if not f.startswith(".")], ["0.0", "1.0"])
        out = back.to_numpy("big")
        self.assertNotIsInstance(out, np.memmap)  # several chunks: read into one buffer
        self.assertEqual(out.shape, (rows, 3))
        self.assertTrue(np.array_equal(out, big))

    def test_single_chunk_numeric_arrays_are_memory_mapped(self):
        directory, back = self.round_trip(Bundle({"x": np.arange(1000.0), "g": (("a", "b"), np.arange(6, dtype=np.int32).reshape(2, 3)), "s": ["a"] * 1000, "z": ((), 3)}))
        for name in ("x", "g", "z"):
            with self.subTest(name):
                data = back.to_numpy(name)
                self.assertIsInstance(data, np.memmap)
                self.assertFalse(data.flags.writeable)
        self.assertEqual(back.to_numpy("g").tolist(), [[0, 1, 2], [3, 4, 5]])
        self.assertEqual(int(back.to_numpy("z")), 3)
        # Shares the file's pages: what is in the chunk file is what the array shows, without a read.
        mapped = back.to_numpy("x")
        self.assertTrue(np.shares_memory(mapped, mapped.base if mapped.base is not None else mapped))
        with open(os.path.join(directory, "x", "0"), "r+b") as f:
            f.write(np.float64(99.0).tobytes())
        self.assertEqual(mapped[0], 99.0)
        with self.assertRaises(ValueError):
            mapped[0] = 1.0

    def test_empty_arrays_write_no_chunks(self):
        bundle = Bundle({"e": {"dims": ("n", "k"), "data": np.zeros((0, 3), dtype=np.int32)}, "s": (("m",), np.array([], dtype=object))})
        directory, back = self.round_trip(bundle)
        assert_same_bundle(self, back, bundle)
        self.assertEqual(list_files(os.path.join(directory, "e")), [".zarray", ".zattrs"])
        self.assertEqual(self.read_json(os.path.join(directory, "e/.zarray"))["chunks"], [1, 3])
        _, empty = self.round_trip(Bundle({}))
        self.assertEqual(empty.variables, [])

    def test_the_same_bundle_gives_byte_identical_files(self):
        a, b = self.fresh(), self.fresh()
        write_bundle(every_dtype(), a, 16)
        write_bundle(every_dtype(), b, 16)
        files = list_files(a)
        self.assertEqual(list_files(b), files)
        for f in files:
            self.assertEqual(read_bytes(os.path.join(b, f)), read_bytes(os.path.join(a, f)), f)
        c = self.fresh()
        write_bundle(read_bundle(a), c, 16)
        for f in files:
            self.assertEqual(read_bytes(os.path.join(c, f)), read_bytes(os.path.join(a, f)), f)
        d1, d2 = self.fresh(), self.fresh()
        write_bundle(Bundle({"x": [1]}, attrs={"a": 1, "b": {"c": 2, "d": 3}}), d1)
        write_bundle(Bundle({"x": [1]}, attrs={"b": {"d": 3, "c": 2}, "a": 1}), d2)
        self.assertEqual(read_bytes(os.path.join(d1, ".zattrs")), read_bytes(os.path.join(d2, ".zattrs")))

    def test_refuses_non_empty_directories_files_and_non_bundles(self):
        directory = self.fresh()
        os.mkdir(directory)
        with open(os.path.join(directory, "x.txt"), "w") as f:
            f.write("x")
        with self.assertRaises(BundleError) as caught:
            write_bundle(Bundle({"a": [1]}), directory)
        self.assertEqual(str(caught.exception), f"cannot write bundle to {directory}: the directory is not empty (it has x.txt); give a new or empty directory")
        with self.assertRaisesRegex(BundleError, "it exists and is not a directory"):
            write_bundle(Bundle({"a": [1]}), os.path.join(directory, "x.txt"))
        with self.assertRaisesRegex(BundleError, "write_bundle expects a maelstrom.Bundle, got builtins.dict"):
            write_bundle({"a": [1]}, self.fresh())
        with self.assertRaisesRegex(BundleError, "chunk_bytes must be a positive integer"):
            write_bundle(Bundle({}), self.fresh(), 0)
        with self.assertRaisesRegex(BundleError, "variable 's' holds a string that is not valid Unicode"):
            write_bundle(Bundle({"s": ["\ud800"]}), self.fresh())
        empty = self.fresh()
        os.mkdir(empty)
        write_bundle(Bundle({"a": [1]}), empty)
        self.assertEqual(read_bundle(empty).variables, ["a"])


class ForeignStoreTest(TempDirTest):
    def store(self, files: dict) -> str:
        directory = self.fresh()
        os.mkdir(directory)
        for name, content in files.items():
            path = os.path.join(directory, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(content if isinstance(content, bytes) else json.dumps(content).encode())
        return directory

    def zarray(self, **over):
        return {"chunks": [2], "compressor": None, "dtype": "<f4", "fill_value": "NaN", "filters": None, "order": "C", "shape": [2], "zarr_format": 2, **over}

    def refused(self, directory: str) -> str:
        with self.assertRaises(BundleError) as caught:
            read_bundle(directory)
        return str(caught.exception)

    def test_multi_dim_chunks_slash_separators_fixed_strings_coarse_datetimes_and_missing_chunks(self):
        u = np.array(["a", "\U0001F600", "bc"], dtype="<U2").tobytes()
        directory = self.store(
            {
                ".zgroup": {"zarr_format": 2},
                "nested/.zgroup": {"zarr_format": 2},
                "g/.zarray": self.zarray(chunks=[2, 2], dimension_separator="/", dtype="<i4", fill_value=0, shape=[3, 3]),
                "g/.zattrs": {"_ARRAY_DIMENSIONS": ["r", "c"]},
                "g/0/0": np.array([0, 1, 3, 4], dtype="<i4").tobytes(),
                "g/0/1": np.array([2, 99, 5, 99], dtype="<i4").tobytes(),
                "g/1/0": np.array([6, 7, 99, 99], dtype="<i4").tobytes(),
                "g/1/1": np.array([8, 99, 99, 99], dtype="<i4").tobytes(),
                "u/.zarray": self.zarray(chunks=[3], dtype="<U2", fill_value="", shape=[3]),
                "u/.zattrs": {"_ARRAY_DIMENSIONS": ["r"]},
                "u/0": u,
                "by/.zarray": self.zarray(chunks=[3], dtype="|S3", fill_value="", shape=[3]),
                "by/.zattrs": {"_ARRAY_DIMENSIONS": ["r"]},
                "by/0": b"ab\0xyz\xc3\xa9\0",
                "day/.zarray": self.zarray(chunks=[2], dtype="<M8[D]", fill_value=None, shape=[2]),
                "day/.zattrs": {"_ARRAY_DIMENSIONS": ["c2"], "note": "days"},
                "day/0": np.array([1, -(2**63)], dtype="<i8").tobytes(),
                "gap/.zarray": self.zarray(chunks=[2], dtype="<f8", fill_value=-1.5, shape=[4]),
                "gap/.zattrs": {"_ARRAY_DIMENSIONS": ["q"]},
                "gap/0": np.array([1.0, 2.0]).tobytes(),
                "sgap/.zarray": self.zarray(dtype="|O", filters=[{"id": "vlen-utf8"}], fill_value=None),
                "sgap/.zattrs": {"_ARRAY_DIMENSIONS": ["n"]},
            }
        )
        b = read_bundle(directory)
        self.assertEqual(b.variables, ["by", "day", "g", "gap", "sgap", "u"])  # no order hint: sorted
        self.assertEqual(b.to_numpy("g").tolist(), [[0, 1, 2], [3, 4, 5], [6, 7, 8]])
        self.assertEqual(b.to_numpy("u").tolist(), ["a", "\U0001F600", "bc"])
        self.assertEqual(b.variable("u").dtype, "string")
        self.assertEqual(b.to_numpy("by").tolist(), ["ab", "xyz", "é"])
        self.assertEqual(b.to_numpy("day").astype(np.int64).tolist(), [86_400_000_000_000, -(2**63)])
        self.assertEqual(b.variable("day").attrs, {"note": "days"})
        self.assertEqual(b.to_numpy("gap").tolist(), [1.0, 2.0, -1.5, -1.5])
        self.assertEqual(b.to_numpy("sgap").tolist(), ["", ""])

    def test_names_missing_and_non_group_directories(self):
        missing = os.path.join(self.tmp, "does-not-exist")
        self.assertEqual(self.refused(missing), f"cannot read bundle: {missing} does not exist")
        plain = self.store({"readme.txt": b"x"})
        self.assertIn("is not a directory", self.refused(os.path.join(plain, "readme.txt")))
        self.assertEqual(self.refused(plain), f"{plain} is not a Zarr group: {os.path.join(plain, '.zgroup')} is missing")
        self.assertIn("(it is a single Zarr array, not a group)", self.refused(self.store({".zarray": self.zarray()})))
        self.assertIn("(it looks like Zarr v3; Maelstrom reads Zarr v2)", self.refused(self.store({"zarr.json": {}})))
        self.assertIn("zarr_format is 3; expected 2", self.refused(self.store({".zgroup": {"zarr_format": 3}})))
        bad = self.store({".zgroup": b"{nope"})
        self.assertIn(f"{os.path.join(bad, '.zgroup')}: group metadata is not valid JSON", self.refused(bad))

    def test_names_unsupported_dtypes_compressors_filters_and_orders(self):
        def message(**over):
            return self.refused(self.store({".zgroup": {"zarr_format": 2}, "v/.zarray": self.zarray(**over), "v/.zattrs": {"_ARRAY_DIMENSIONS": ["n"]}}))

        self.assertRegex(message(dtype="<c16"), r"v/\.zarray: unsupported dtype '<c16'; expected int8\.\.int64")
        self.assertIn("dtype '>f4' is big-endian; Maelstrom reads little-endian Zarr only (write it with '<f4')", message(dtype=">f4"))
        self.assertIn("unsupported datetime unit in dtype '<M8[as]'", message(dtype="<M8[as]"))
        self.assertIn(
            'compressor "blosc" is not supported; Maelstrom reads uncompressed Zarr (compressor: null). From xarray write it with encoding={"v": {"compressor": None}}',
            message(compressor={"id": "blosc", "cname": "lz4"}),
        )
        self.assertIn('unsupported filters [{"id":"delta"}]', message(filters=[{"id": "delta"}]))
        self.assertIn("object dtype '|O' needs filters [{\"id\": \"vlen-utf8\"}]", message(dtype="|O", filters=[{"id": "pickle"}]))
        self.assertIn('order "F" is not supported; expected "C"', message(order="F"))
        self.assertIn("chunks must be 1 positive integers", message(chunks=[0]))
        self.assertIn("shape must be a list of non-negative integers", message(shape=[-1]))
        self.assertIn('fill_value "yes" does not fit dtype float32', message(fill_value="yes"))
        self.assertIn("zarr_format is 3; expected 2", message(zarr_format=3))

    def test_names_bad_chunks_and_dimensions(self):
        dims = {"_ARRAY_DIMENSIONS": ["n"]}
        short = self.store({".zgroup": {"zarr_format": 2}, "v/.zarray": self.zarray(), "v/.zattrs": dims, "v/0": bytes(5)})
        self.assertEqual(self.refused(short), f"chunk file {os.path.join(short, 'v/0')} has 5 bytes; expected 8 (chunk shape [2] of <f4, uncompressed)")
        vlen = self.zarray(dtype="|O", filters=[{"id": "vlen-utf8"}], fill_value=None)
        strings = self.store({".zgroup": {"zarr_format": 2}, "v/.zarray": vlen, "v/.zattrs": dims, "v/0": bytes([1, 0, 0, 0, 1, 0, 0, 0, 0x61])})
        self.assertEqual(self.refused(strings), f"chunk file {os.path.join(strings, 'v/0')} is not valid vlen-utf8: it holds 1 items; expected 2 (one per element of the chunk)")
        truncated = self.store({".zgroup": {"zarr_format": 2}, "v/.zarray": vlen, "v/.zattrs": dims, "v/0": bytes([2, 0, 0, 0, 9, 0, 0, 0, 0x61])})
        self.assertIn("item 0 (9 bytes) runs past the end of the file", self.refused(truncated))
        no_dims = self.store({".zgroup": {"zarr_format": 2}, "v/.zarray": self.zarray(), "v/.zattrs": {}})
        self.assertIn("v/.zattrs: _ARRAY_DIMENSIONS must list 1 dimension names (xarray's convention for naming the dims of shape [2]), got undefined", self.refused(no_dims))
        clash = self.store(
            {".zgroup": {"zarr_format": 2}, "a/.zarray": self.zarray(), "a/.zattrs": dims, "b/.zarray": self.zarray(shape=[3], chunks=[3]), "b/.zattrs": dims}
        )
        self.assertEqual(self.refused(clash), f"bundle at {clash} is invalid: dimension 'n' has size 2 in 'a' but size 3 in 'b'; a dimension has one size across the bundle")


class CanonicalJsonTest(unittest.TestCase):
    def test_numbers_as_javascript_writes_them(self):
        cases = {1.0: "1", -0.0: "0", 0.1: "0.1", 1e21: "1e+21", 1e20: "100000000000000000000", 1e-7: "1e-7", 1e-6: "0.000001", 1.5e300: "1.5e+300", 5e-324: "5e-324", 123.456: "123.456"}
        for value, text in cases.items():
            self.assertEqual(js_number(value), text)
        self.assertEqual(canonical_json([math.nan, math.inf, -math.inf, 2**64, True, None]), "[\n  NaN,\n  Infinity,\n  -Infinity,\n  18446744073709551616,\n  true,\n  null\n]")

    def test_keys_sorted_by_code_point_and_non_ascii_escaped(self):
        text = canonical_json({"b": {}, "a": [], "\uffff": 1, "\U0001F600": 2, "é": "x\n\t\"\\\u0001\u007f\u2028"})
        self.assertEqual(
            text,
            '{\n  "a": [],\n  "b": {},\n  "\\u00e9": "x\\n\\t\\"\\\\\\u0001\\u007f\\u2028",\n  "\\uffff": 1,\n  "\\ud83d\\ude00": 2\n}',
        )
        self.assertEqual(canonical_json("\ud800"), '"\\ud800"')


class TypeScriptInteropTest(TempDirTest):
    """The TypeScript writer and this one give the same bytes; each reads what the other wrote."""

    def setUp(self) -> None:
        super().setUp()
        require_node(self)

    def assert_same_files(self, a: str, b: str) -> None:
        files = list_files(a)
        self.assertEqual(list_files(b), files)
        for f in files:
            self.assertEqual(read_bytes(os.path.join(b, f)), read_bytes(os.path.join(a, f)), f"{f} differs between {a} and {b}")

    def test_the_same_bundle_written_by_both_languages_is_byte_identical(self):
        ts, py = self.fresh("ts"), self.fresh("py")
        run_ts("every", ts)
        write_bundle(every_dtype(), py)
        self.assert_same_files(ts, py)

    def test_typescript_to_python_to_typescript(self):
        ts, py, back = self.fresh("ts"), self.fresh("py"), self.fresh("back")
        run_ts("every", ts)
        bundle = read_bundle(ts)
        assert_same_bundle(self, bundle, every_dtype())
        write_bundle(bundle, py)
        self.assert_same_files(ts, py)
        run_ts("rewrite", py, back)
        self.assert_same_files(ts, back)

    def test_python_to_typescript_to_python_with_several_chunks(self):
        py, ts, back = self.fresh("py"), self.fresh("ts"), self.fresh("back")
        write_bundle(every_dtype(), py, 16)
        run_ts("rewrite", py, ts, "16")
        self.assert_same_files(py, ts)
        assert_same_bundle(self, read_bundle(ts), every_dtype())
        write_bundle(read_bundle(ts), back, 16)
        self.assert_same_files(py, back)

    def test_typescript_reads_the_values_python_wrote(self):
        py = self.fresh("py")
        write_bundle(every_dtype(), py)
        dumped = json.loads(run_ts("dump", py))
        values = dumped["values"]
        self.assertEqual(dumped["variables"][:3], ["i8", "i16", "i32"])
        self.assertEqual(dumped["coords"], ["n", "station", "height", "orphan"])
        self.assertEqual(values["i64"]["data"], [f"{-(2**63)}n", "0n", f"{2**63 - 1}n"])
        self.assertEqual(values["u64"]["data"], ["0n", "1n", f"{2**64 - 1}n"])
        self.assertEqual(values["f32"]["data"], ["NaN", -0.5, "Infinity"])
        self.assertEqual(values["flag"], {"dims": ["n"], "shape": [3], "dtype": "bool", "data": [1, 0, 1], "attrs": {}})
        self.assertEqual(values["text"]["data"], ["", "naïve ❄️ 北极", "a\u0000b"])
        self.assertEqual(values["when"]["data"], ["0n", f"{2**63 - 1}n", f"{-(2**63)}n"])
        self.assertEqual(values["grid"]["shape"], [3, 2])
        self.assertEqual(values["grid"]["attrs"], {"units": "K", "scale": 0.1})
        self.assertEqual(values["word"], {"dims": [], "shape": [], "dtype": "string", "data": ["polar"], "attrs": {}})
        self.assertEqual(dumped["attrs"]["nan"], "NaN")


@unittest.skipUnless(have("xarray") and have("zarr"), "xarray and zarr are not installed")
class XarrayInteropTest(TempDirTest):
    def test_open_zarr_opens_a_python_written_bundle(self):
        import xarray as xr

        bundle = every_dtype()
        attrs = bundle.attrs
        attrs["unicode"] = "ascii only"  # zarr 2.13 (Debian 12) decodes metadata as ASCII
        directory = self.fresh()
        write_bundle(Bundle(bundle, attrs=attrs), directory)
        for consolidated in (True, False):
            with self.subTest(consolidated=consolidated):
                ds = xr.open_zarr(directory, consolidated=consolidated).load()
                self.assertEqual(sorted(ds.coords), ["height", "n", "orphan", "station"])
                self.assertEqual(sorted(ds.indexes), ["n"])
                self.assertEqual(str(ds.i64.dtype), "int64")
                self.assertEqual(str(ds.u64.dtype), "uint64")
                self.assertEqual(str(ds.when.dtype), "datetime64[ns]")
                self.assertEqual(str(ds.flag.dtype), "bool")
                self.assertEqual(ds.text.values.tolist(), ["", "naïve ❄️ 北极", "a\u0000b"])
                self.assertTrue(np.isnan(ds.f32.values[0]))
                self.assertTrue(np.isnat(ds.when.values[2]))
                self.assertEqual(ds.i8.values.tolist(), [-128, 0, 127])
                self.assertEqual(ds.grid.attrs, {"units": "K", "scale": 0.1})
                self.assertEqual(ds.attrs["title"], "every dtype")
                # And back into a bundle, with the store's bookkeeping attributes left behind.
                again = Bundle(ds)
                self.assertNotIn("_maelstrom_order", again.attrs)
                np.testing.assert_array_equal(again.to_numpy("when"), bundle.to_numpy("when"))

    def test_read_bundle_opens_a_store_written_by_xarray(self):
        import xarray as xr

        directory = self.fresh()
        ds = xr.Dataset(
            {
                "t2m": (("time", "lat"), np.arange(6, dtype="f4").reshape(3, 2), {"units": "K", "scale": np.nan}),
                "name": (("time",), np.array(["a", "bé", ""], dtype=object)),
                "fixed": (("time",), np.array(["x", "yz", "ü"])),
                "grid": (("time", "lat"), np.arange(6, dtype="i8").reshape(3, 2)),
            },
            coords={"lat": [1.0, 2.0], "station": ("lat", np.array(["p", "q"], dtype=object)), "orphan": ("q", np.array([1, 2], dtype="i2"))},
            attrs={"title": "from xarray"},
        )
        encoding = {k: {"compressor": None} for k in ds.variables}
        encoding["grid"]["chunks"] = (2, 1)
        ds.to_zarr(directory, encoding=encoding)
        b = read_bundle(directory)
        self.assertEqual(b.variables, ["fixed", "grid", "name", "t2m"])
        self.assertEqual(b.coords, ["lat", "orphan", "station"])
        self.assertEqual(b.attrs, {"title": "from xarray"})
        self.assertEqual(b.to_numpy("t2m").tolist(), [[0, 1], [2, 3], [4, 5]])
        self.assertTrue(math.isnan(b.variable("t2m").attrs["scale"]))
        self.assertEqual(b.to_numpy("name").tolist(), ["a", "bé", ""])
        self.assertEqual(b.to_numpy("fixed").tolist(), ["x", "yz", "ü"])
        self.assertEqual(b.to_numpy("grid").tolist(), [[0, 1], [2, 3], [4, 5]])
        self.assertEqual(b.variable("orphan").dtype, "int16")


if __name__ == "__main__":
    unittest.main()
