"""maelstrom.Bundle: every input form, every dtype, every refused input with its message."""
from __future__ import annotations

import datetime as dt
import unittest

import numpy as np

import maelstrom
import maelstrom.types
from maelstrom import Bundle, BundleError

from .support import have


class ConstructionTest(unittest.TestCase):
    def test_both_spellings_are_the_same_class(self):
        self.assertIs(maelstrom.types.Bundle, maelstrom.Bundle)
        self.assertIs(maelstrom.types.MetaVariables, maelstrom.MetaVariables)
        self.assertTrue(issubclass(BundleError, ValueError))

    def test_dict_of_lists_is_a_table_on_row(self):
        b = Bundle({"temp_max": [12.8, 10.6, 11], "weather": ["rain", "sun", "fog"], "n": [1, 2, 3], "wet": [True, False, True]})
        self.assertEqual(b.variables, ["temp_max", "weather", "n", "wet"])
        self.assertEqual(b.dims, {"row": 3})
        self.assertEqual([b.variable(n).dtype for n in b.variables], ["float64", "string", "int64", "bool"])
        self.assertEqual(b.variable("weather").dims, ("row",))
        self.assertEqual(b.to_numpy("weather").tolist(), ["rain", "sun", "fog"])
        self.assertEqual(b.to_numpy("temp_max").tolist(), [12.8, 10.6, 11.0])

    def test_dict_of_arrays_keeps_dtypes_without_copying(self):
        values = np.arange(6, dtype=np.float32)
        b = Bundle({"x": values, "k": np.array([1, 2, 3, 4, 5, 6], dtype=np.uint16)})
        self.assertEqual(b.variable("x").dtype, "float32")
        self.assertEqual(b.variable("k").dtype, "uint16")
        self.assertTrue(np.shares_memory(b.to_numpy("x"), values))
        # The bundle's view is read-only; the caller's array stays writable.
        self.assertFalse(b.to_numpy("x").flags.writeable)
        self.assertTrue(values.flags.writeable)
        with self.assertRaises(ValueError):
            b.to_numpy("x")[0] = 1

    def test_nd_forms_tuples_and_dicts_with_coords_and_attrs(self):
        t2m = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
        b = Bundle(
            {
                "t2m": (("time", "lat", "lon"), t2m, {"units": "K"}),
                "mask": {"dims": ("lat", "lon"), "data": [[True] * 4] * 3, "attrs": {"note": "land"}},
                "flat": {"dims": ["lat", "lon"], "data": list(range(12)), "shape": [3, 4], "dtype": "int16"},
            },
            attrs={"title": "grid"},
            coords={"time": np.array(["2020-01-01", "2020-01-02"], dtype="datetime64[D]"), "lat": [10.0, 20.0, 30.0], "height": 2.0},
        )
        self.assertEqual(b.dims, {"time": 2, "lat": 3, "lon": 4})
        self.assertEqual(b.coords, ["time", "lat", "height"])
        self.assertEqual(b.variable("t2m").shape, (2, 3, 4))
        self.assertEqual(b.variable("t2m").attrs, {"units": "K"})
        self.assertEqual(b.variable("mask").dtype, "bool")
        self.assertEqual(b.variable("flat").dtype, "int16")
        self.assertEqual(b.to_numpy("flat")[2, 3], 11)
        self.assertEqual(b.variable("time").dtype, "datetime64[ns]")
        self.assertEqual(b.variable("time").dims, ("time",))
        self.assertEqual(b.variable("height").dims, ())
        self.assertEqual(b.attrs, {"title": "grid"})

    def test_scalars_are_zero_dimensional(self):
        b = Bundle({"accuracy": 0.93, "count": np.int32(4), "name": "rf", "ok": True})
        self.assertEqual([b.variable(n).shape for n in b.variables], [(), (), (), ()])
        self.assertEqual([b.variable(n).dtype for n in b.variables], ["float64", "int32", "string", "bool"])
        self.assertEqual(float(b.to_numpy("accuracy")), 0.93)

    def test_empty_bundles_and_columns(self):
        self.assertEqual(Bundle().variables, [])
        self.assertEqual(Bundle({}).dims, {})
        b = Bundle({"x": [], "s": np.array([], dtype=object)})
        self.assertEqual(b.variable("x").dtype, "float64")
        self.assertEqual(b.variable("s").dtype, "string")
        self.assertEqual(b.dims, {"row": 0})

    def test_every_dtype_from_numpy(self):
        cases = {
            "int8": np.int8, "int16": np.int16, "int32": np.int32, "int64": np.int64,
            "uint8": np.uint8, "uint16": np.uint16, "uint32": np.uint32, "uint64": np.uint64,
            "float32": np.float32, "float64": np.float64, "bool": np.bool_,
        }  # fmt: skip
        for name, kind in cases.items():
            with self.subTest(name):
                b = Bundle({"v": np.zeros(3, dtype=kind)})
                self.assertEqual(b.variable("v").dtype, name)
        self.assertEqual(Bundle({"v": np.array(["a", "bé"])}).variable("v").dtype, "string")
        self.assertEqual(Bundle({"v": np.array(["a", "bé"])}).to_numpy("v").dtype, object)
        self.assertEqual(Bundle({"v": np.array(["a"], dtype=object)}).variable("v").dtype, "string")

    def test_datetimes_of_any_unit_become_ns_with_nat(self):
        for unit in ["Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns"]:
            with self.subTest(unit):
                values = np.array(["2020-01-01", "NaT"], dtype=f"datetime64[{unit}]")
                got = Bundle({"t": values}).to_numpy("t")
                self.assertEqual(got.dtype, np.dtype("datetime64[ns]"))
                self.assertEqual(got[0], values[0].astype("datetime64[ns]"))  # weeks start on a Thursday: 2019-12-26
                self.assertTrue(np.isnat(got[1]))
        listed = Bundle({"t": [dt.date(2020, 1, 2), dt.datetime(2020, 1, 2, 6, 30), np.datetime64("NaT")]}).to_numpy("t")
        self.assertEqual([str(x) for x in listed], ["2020-01-02T00:00:00.000000000", "2020-01-02T06:30:00.000000000", "NaT"])
        aware = Bundle({"t": [dt.datetime(2020, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2)))]}).to_numpy("t")
        self.assertEqual(str(aware[0]), "2020-01-01T10:00:00.000000000")

    def test_nan_and_big_endian_and_non_contiguous(self):
        b = Bundle({"f": [1.0, float("nan")], "be": np.array([1, 2], dtype=">i4"), "strided": np.arange(4.0)[::2]})
        self.assertTrue(np.isnan(b.to_numpy("f")[1]))
        self.assertEqual(b.to_numpy("be").dtype.byteorder, "=")
        self.assertEqual(b.to_numpy("be").tolist(), [1, 2])
        self.assertTrue(b.to_numpy("strided").flags.c_contiguous)
        fortran = np.asfortranarray(np.arange(6.0).reshape(2, 3))
        self.assertTrue(Bundle({"g": (("a", "b"), fortran)}).to_numpy("g").flags.c_contiguous)

    def test_large_python_ints_go_to_uint64(self):
        self.assertEqual(Bundle({"u": [0, 2**64 - 1]}).variable("u").dtype, "uint64")

    def test_attrs_accept_numpy_values_and_are_copies(self):
        b = Bundle({"x": [1]}, attrs={"a": np.float32(1.5), "b": np.int64(2), "c": np.array([1, 2]), "d": (1, "x"), "e": {"nested": [None, True]}})
        self.assertEqual(b.attrs, {"a": 1.5, "b": 2, "c": [1, 2], "d": [1, "x"], "e": {"nested": [None, True]}})
        attrs = b.attrs
        attrs["a"] = 99
        self.assertEqual(b.attrs["a"], 1.5)

    def test_bundle_of_a_bundle_and_select(self):
        b = Bundle({"t": (("time", "lat"), np.zeros((2, 3))), "s": (("time",), ["a", "b"])}, coords={"lat": [1.0, 2.0, 3.0], "time": [0, 1]})
        same = Bundle(b, attrs={"x": 1})
        self.assertEqual(same.variables, b.variables)
        self.assertEqual(same.attrs, {"x": 1})
        only = b.select(["s"])
        self.assertEqual(only.variables, ["s"])
        self.assertEqual(only.coords, ["time"])
        self.assertIn("lat", b)
        self.assertEqual(b.nbytes, 2 * 3 * 8 + 2 + 3 * 8 + 2 * 8)


class BadInputTest(unittest.TestCase):
    def assertRefused(self, make, *fragments):
        with self.assertRaises(BundleError) as caught:
            make()
        for fragment in fragments:
            self.assertIn(fragment, str(caught.exception))
        return str(caught.exception)

    def test_ragged_and_nested(self):
        self.assertRefused(lambda: Bundle({"x": [[1, 2], [3]]}), "variable 'x'", "element 0 is a list of length 2", "nested lists are not supported")
        self.assertRefused(lambda: Bundle({"x": (("a", "b"), [[1, 2], [3]])}), "variable 'x'", "ragged nested lists", "lengths 1 and 2")
        self.assertRefused(lambda: Bundle({"x": (("a", "b"), [[1, 2], 3])}), "variable 'x'", "ragged nested lists", "item 1 is an int (3)")
        self.assertRefused(lambda: Bundle({"x": {"a": [1], "b": [2]}}), "variable 'x' is a dict without 'dims' and 'data'", "nested dicts are not supported", "'x_a'")

    def test_mixed_and_missing(self):
        self.assertRefused(lambda: Bundle({"w": ["a", 1.5]}), "variable 'w': mixes types: element 0 is a str ('a') but element 1 is a float (1.5)")
        self.assertRefused(lambda: Bundle({"w": [True, 1]}), "mixes types: element 0 is a bool (True) but element 1 is an int (1)")
        self.assertRefused(lambda: Bundle({"w": ["a", None]}), "variable 'w': element 1 is None; missing values are not supported")
        self.assertRefused(lambda: Bundle({"w": [b"x"]}), "element 0 is bytes; decode it to str first")
        self.assertRefused(lambda: Bundle({"w": [object()]}), "element 0 is a object; expected numbers, strings, booleans or datetimes")
        self.assertRefused(lambda: Bundle({"u": [2**70]}), "element 0 (1180591620717411303424) does not fit int64 or uint64")

    def test_object_arrays_must_hold_str(self):
        self.assertRefused(lambda: Bundle({"o": np.array(["a", 1], dtype=object)}), "variable 'o': object array holds an int (1) at element 1; object arrays must hold only str")
        self.assertRefused(lambda: Bundle({"o": np.array(["a", None], dtype=object)}), "holds None at element 1", "missing strings are not supported")
        self.assertRefused(lambda: Bundle({"o": np.array([{"a": 1}], dtype=object)}), "holds a dict (keys: a) at element 0")

    def test_unsupported_dtypes(self):
        self.assertRefused(lambda: Bundle({"c": np.zeros(2, dtype=np.complex128)}), "variable 'c': complex numbers (complex128) are not supported")
        self.assertRefused(lambda: Bundle({"h": np.zeros(2, dtype=np.float16)}), "variable 'h': dtype float16 is not supported; convert it with .astype('float32')")
        self.assertRefused(lambda: Bundle({"q": np.zeros(2, dtype=np.longdouble)}), "variable 'q': dtype float128 is not supported; convert it with .astype('float64')")
        self.assertRefused(lambda: Bundle({"d": np.array([1], dtype="timedelta64[s]")}), "variable 'd': timedelta64 is not supported")
        self.assertRefused(lambda: Bundle({"b": np.array([b"x"])}), "variable 'b': bytes (dtype |S1) are not strings")
        self.assertRefused(lambda: Bundle({"s": np.zeros(2, dtype=[("a", "i4")])}), "variable 's': dtype [('a', '<i4')] is not supported")
        self.assertRefused(lambda: Bundle({"p": np.array(["2020-01-01"], dtype="datetime64[ps]")}), "datetime64[ps] is finer than nanoseconds")
        self.assertRefused(lambda: Bundle({"t": np.array(["3000-01-01"], dtype="datetime64[D]")}), "variable 't': element 0 (3000-01-01) does not fit datetime64[ns]")
        self.assertRefused(lambda: Bundle({"m": np.ma.masked_array([1, 2], mask=[0, 1])}), "masked arrays are not supported")

    def test_shapes_dims_and_names(self):
        self.assertRefused(lambda: Bundle({"g": np.zeros((2, 3))}), "variable 'g' is a 2-d array (shape [2, 3]); give its dims: Bundle({'g': (('dim0', 'dim1'), array)})")
        self.assertRefused(lambda: Bundle({"a": [1, 2], "b": [1, 2, 3]}), "column 'b' has 3 values but column 'a' has 2; all columns of a table must have the same length")
        self.assertRefused(lambda: Bundle({"g": (("a",), np.zeros((2, 3)))}), "variable 'g': dims (a) have 1 entries but the data is 2-d with shape [2, 3]")
        self.assertRefused(lambda: Bundle({"g": (("a", "a"), np.zeros((2, 2)))}), "dimension 'a' appears twice")
        self.assertRefused(lambda: Bundle({"g": ((1,), [1])}), "a tuple is read as (dims, data) or (dims, data, attrs)", "pass a list or a numpy array")
        self.assertRefused(lambda: Bundle({"g": {"dims": ["a"], "data": [1], "unit": "K"}}), "unknown key 'unit'; expected dims, data, attrs, dtype, shape")
        self.assertRefused(lambda: Bundle({"g": {"dims": ["a"], "data": [1, 2], "shape": [3]}}), "shape [3] holds 3 values but data has 2")
        self.assertRefused(lambda: Bundle({"g": {"dims": ["a"], "data": [1.5], "dtype": "int8"}}), "values do not fit dtype int8 exactly")
        self.assertRefused(lambda: Bundle({"g": {"dims": ["a"], "data": [1], "dtype": "complex"}}), "unknown dtype 'complex'")
        self.assertRefused(lambda: Bundle({"a/b": [1]}), "variable name 'a/b' must not contain '/'")
        self.assertRefused(lambda: Bundle({".zattrs": [1]}), "must not start with '.'")
        self.assertRefused(lambda: Bundle({"": [1]}), "variable name must be a non-empty string")
        self.assertRefused(lambda: Bundle({1: [1]}), "variable name must be a non-empty string, got an int (1)")
        self.assertRefused(lambda: Bundle({"row": [1]}), "column 'row' clashes with the table dimension 'row'")

    def test_bundle_level_rules(self):
        self.assertRefused(lambda: Bundle({"a": (("x",), [1, 2]), "b": (("x",), [1, 2, 3])}), "dimension 'x' has size 2 in 'a' but size 3 in 'b'")
        self.assertRefused(lambda: Bundle({"x": (("x",), [1])}), "data variable 'x' has the same name as a dimension")
        self.assertRefused(lambda: Bundle({"a": (("x",), [1])}, coords={"a": (("x",), [1])}), "'a' is given both as a data variable and as a coordinate")
        self.assertRefused(lambda: Bundle({"a": (("x", "y"), [[1]])}, coords={"x": (("y",), [1])}), "coordinate 'x' has the same name as a dimension, so it must be 1-d along 'x'")
        self.assertRefused(lambda: Bundle({"a": (("x",), [1])}, coords={"my coord": (("x",), [1])}), "coordinate 'my coord' must not contain whitespace")

    def test_attrs(self):
        self.assertRefused(lambda: Bundle({"x": [1]}, attrs={"when": dt.date(2020, 1, 1)}), "bundle: attrs.when is a datetime.date", "store it as an ISO string")
        self.assertRefused(lambda: Bundle({"x": [1]}, attrs={"coordinates": "a"}), "attribute 'coordinates' is reserved")
        self.assertRefused(lambda: Bundle({"x": [1]}, attrs={"_maelstrom_order": []}), "attribute '_maelstrom_order' is reserved")
        self.assertRefused(lambda: Bundle({"x": (("r",), [1], {"_ARRAY_DIMENSIONS": []})}), "variable 'x': attribute '_ARRAY_DIMENSIONS' is reserved")
        self.assertRefused(lambda: Bundle({"x": [1]}, attrs={1: 2}), "attribute keys must be strings")
        self.assertRefused(lambda: Bundle({"x": [1]}, attrs=[1]), "bundle: attrs must be a dict")
        cycle: list = []
        cycle.append(cycle)
        self.assertRefused(lambda: Bundle({"x": [1]}, attrs={"c": cycle}), "attrs nest deeper than 64 levels")

    def test_other_inputs_are_refused_with_a_hint(self):
        self.assertRefused(lambda: Bundle([1, 2, 3]), "Bundle expects a dict of arrays, a pandas.DataFrame or an xarray.Dataset, got a list of length 3; name it: Bundle({'x': values})")
        self.assertRefused(lambda: Bundle(np.zeros(3)), "got a numpy array of dtype float64 and shape (3,); name it")
        self.assertRefused(lambda: Bundle("text"), "got a str ('text')")

    def test_unknown_variable(self):
        self.assertRefused(lambda: Bundle({"a": [1]}).variable("b"), "bundle has no variable 'b'; it has: a")


class WithoutPandasTest(unittest.TestCase):
    def test_value_is_a_dict_of_arrays_that_says_why(self):
        import subprocess
        import sys
        import textwrap

        from .support import PYTHON_DIR

        script = textwrap.dedent("""
            import sys
            sys.modules["pandas"] = None
            sys.modules["xarray"] = None
            import maelstrom
            table = maelstrom.Bundle({"x": [1.0, 2.0]}).value
            grid = maelstrom.Bundle({"g": (("a", "b"), [[1.0]])}).value
            print(type(table).__mro__[1].__name__, sorted(table), table["x"].tolist(), sorted(grid))
            try:
                table.dropna()
            except AttributeError as error:
                print(error)
            try:
                grid.sel
            except AttributeError as error:
                print(error)
        """)
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env={"PYTHONPATH": PYTHON_DIR, "PATH": "/usr/bin:/bin"}, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.splitlines()
        self.assertEqual(lines[0], "dict ['x'] [1.0, 2.0] ['g']")
        self.assertTrue(lines[1].startswith(f"'dict' object has no attribute 'dropna': bundle.value is a dict of numpy arrays, not a pandas.DataFrame, because pandas is not installed for {sys.executable}"), lines[1])
        self.assertIn("apt-get install python3-pandas or pip install pandas", lines[1])
        self.assertIn("not an xarray.Dataset, because xarray is not installed", lines[2])


@unittest.skipUnless(have("pandas"), "pandas is not installed")
class PandasTest(unittest.TestCase):
    def test_dataframe_round_trip(self):
        import pandas as pd

        df = pd.DataFrame({"temp": [1.5, 2.5, 3.5], "weather": ["sun", "rain", "fog"], "n": np.array([1, 2, 3], dtype=np.int16), "day": pd.to_datetime(["2020-01-01", "2020-01-02", None])})
        b = Bundle(df)
        self.assertEqual(b.variables, ["temp", "weather", "n", "day"])
        self.assertEqual(b.coords, [])  # the RangeIndex is positional
        self.assertEqual([b.variable(n).dtype for n in b.variables], ["float64", "string", "int16", "datetime64[ns]"])
        back = b.value
        self.assertIsInstance(back, pd.DataFrame)
        pd.testing.assert_frame_equal(back, df)
        back.loc[0, "temp"] = 9  # the DataFrame is the user's own copy
        self.assertEqual(b.to_numpy("temp")[0], 1.5)

    def test_index_becomes_a_coordinate_and_comes_back(self):
        import pandas as pd

        df = pd.DataFrame({"x": [1.0, 2.0]}, index=pd.DatetimeIndex(["2020-01-01", "2020-01-02"], name="date"))
        b = Bundle(df)
        self.assertEqual(b.coords, ["date"])
        self.assertEqual(b.variable("date").dims, ("row",))
        pd.testing.assert_frame_equal(b.to_pandas(), df)
        filtered = pd.DataFrame({"x": [1.0, 2.0, 3.0]})[lambda d: d.x > 1]
        self.assertEqual(Bundle(filtered).coords, [])  # an unnamed integer index is positional

    def test_categories_nullable_and_time_zones(self):
        import pandas as pd

        df = pd.DataFrame(
            {
                "c": pd.Categorical(["a", "b", "a"]),
                "i": pd.array([1, 2, 3], dtype="Int64"),
                "f": pd.array([1.5, None, 2.0], dtype="Float64"),
                "s": pd.array(["x", "y", "z"], dtype="string"),
                "z": pd.to_datetime(["2020-01-01T12:00"] * 3).tz_localize("Europe/Berlin"),
            }
        )
        b = Bundle(df)
        self.assertEqual([b.variable(n).dtype for n in b.variables], ["string", "int64", "float64", "string", "datetime64[ns]"])
        self.assertEqual(b.to_numpy("c").tolist(), ["a", "b", "a"])
        self.assertTrue(np.isnan(b.to_numpy("f")[1]))
        self.assertEqual(str(b.to_numpy("z")[0]), "2020-01-01T11:00:00.000000000")

    def test_refused_frames(self):
        import pandas as pd

        with self.assertRaisesRegex(BundleError, r"column 'i': Int64 column has missing values \(<NA>\); fill them"):
            Bundle(pd.DataFrame({"i": pd.array([1, None], dtype="Int64")}))
        with self.assertRaisesRegex(BundleError, r"column 'o': object array holds None at element 1"):
            Bundle(pd.DataFrame({"o": ["a", None]}))
        with self.assertRaisesRegex(BundleError, "DataFrame column names must be strings, got an int"):
            Bundle(pd.DataFrame({0: [1]}))
        with self.assertRaisesRegex(BundleError, "MultiIndex"):
            Bundle(pd.DataFrame({"x": [1]}, index=pd.MultiIndex.from_tuples([(1, 2)])))
        with self.assertRaisesRegex(BundleError, "column 'row' clashes with the table dimension 'row'"):
            Bundle(pd.DataFrame({"row": [1]}))
        with self.assertRaisesRegex(BundleError, r"column 'p': pandas dtype period\[D\] is not supported"):
            Bundle(pd.DataFrame({"p": pd.period_range("2020-01-01", periods=2, freq="D")}))
        with self.assertRaisesRegex(BundleError, r"name it: Bundle\(series.to_frame\(\)\)"):
            Bundle(pd.Series([1, 2]))

    def test_series_values_in_a_dict(self):
        import pandas as pd

        b = Bundle({"x": pd.Series([1, 2]), "y": pd.Series(["a", "b"])})
        self.assertEqual(b.variable("y").dtype, "string")

    def test_to_pandas_needs_one_dimension(self):
        b = Bundle({"g": (("a", "b"), np.zeros((2, 2)))})
        with self.assertRaisesRegex(BundleError, r"to_pandas\(\) needs every data variable to be 1-d on the same dimension, but 'g' has dims \(a, b\)"):
            b.to_pandas()


@unittest.skipUnless(have("xarray"), "xarray is not installed")
class XarrayTest(unittest.TestCase):
    def test_dataset_round_trip(self):
        import xarray as xr

        ds = xr.Dataset(
            {"t2m": (("time", "lat"), np.arange(6, dtype="f4").reshape(3, 2), {"units": "K"}), "name": (("time",), np.array(["a", "bé", ""], dtype=object))},
            coords={"time": np.array(["2020-01-01", "2020-01-02", "2020-01-03"], dtype="datetime64[ns]"), "lat": [1.0, 2.0], "station": ("lat", ["p", "q"])},
            attrs={"title": "x"},
        )
        b = Bundle(ds)
        self.assertEqual(b.variables, ["t2m", "name"])
        self.assertEqual(sorted(b.coords), ["lat", "station", "time"])
        self.assertEqual(b.variable("t2m").attrs, {"units": "K"})
        back = b.value
        self.assertIsInstance(back, xr.Dataset)
        xr.testing.assert_identical(back, ds)

    def test_data_array_values_in_a_dict(self):
        import xarray as xr

        da = xr.DataArray(np.zeros((2, 3)), dims=("y", "x"), attrs={"units": "m"})
        b = Bundle({"h": da})
        self.assertEqual(b.variable("h").dims, ("y", "x"))
        self.assertEqual(b.variable("h").attrs, {"units": "m"})
        with self.assertRaisesRegex(BundleError, r"to_dataset\(name='x'\)"):
            Bundle(da)

    def test_value_of_a_table_is_a_dataframe_and_of_a_grid_a_dataset(self):
        import pandas as pd
        import xarray as xr

        self.assertIsInstance(Bundle({"x": [1]}).value, pd.DataFrame)
        self.assertIsInstance(Bundle({"g": (("a", "b"), np.zeros((1, 1)))}).value, xr.Dataset)
        self.assertIsInstance(Bundle({"t": (("time",), [1.0])}, coords={"time": [5]}).value, xr.Dataset)


if __name__ == "__main__":
    unittest.main()
