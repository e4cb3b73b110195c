"""MetaVariables, log_metric / report_progress, importing without numpy, installing with pip."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import unittest

import maelstrom
from maelstrom import MetaVariables, ParameterError

from .support import PYTHON_DIR, TempDirTest


class MetaVariablesTest(unittest.TestCase):
    def test_values_defaults_and_names(self):
        meta = MetaVariables({"trees": 50, "seed": 42, "mode": "fast", "scaled": False}, "classifier")
        self.assertEqual(meta.get("trees"), 50)
        self.assertIs(meta.get("scaled"), False)
        self.assertEqual(meta["mode"], "fast")
        self.assertEqual(meta.get("depth", 3), 3)
        self.assertIsNone(meta.get("depth", None))
        self.assertEqual(meta.names, ["trees", "seed", "mode", "scaled"])
        self.assertIn("seed", meta)
        self.assertNotIn("depth", meta)
        self.assertEqual(meta.to_dict()["seed"], 42)

    def test_undeclared_names_the_artifact_and_the_declared_parameters(self):
        meta = MetaVariables({"trees": 50, "seed": 42}, "classifier")
        with self.assertRaises(ParameterError) as caught:
            meta.get("depth")
        self.assertEqual(
            str(caught.exception),
            "parameter 'depth' is not declared in the manifest of classifier (declared: trees, seed); declare it under 'parameters:' or pass a default: meta.get(\"depth\", value)",
        )
        self.assertIsInstance(caught.exception, LookupError)
        with self.assertRaisesRegex(ParameterError, r"in the manifest of this step \(declared: none\)"):
            MetaVariables({}).get("x")


class EventsTest(unittest.TestCase):
    def setUp(self) -> None:
        self.read_end, self.write_end = os.pipe()
        if self.write_end <= 2:  # pragma: no cover - stdio closed
            self.skipTest("no descriptor above 2")
        self.saved = os.environ.get("MAELSTROM_EVENT_FD")
        os.environ["MAELSTROM_EVENT_FD"] = str(self.write_end)

    def tearDown(self) -> None:
        if self.saved is None:
            os.environ.pop("MAELSTROM_EVENT_FD", None)
        else:
            os.environ["MAELSTROM_EVENT_FD"] = self.saved
        os.close(self.write_end)
        os.close(self.read_end)

    def events(self) -> list[dict]:
        os.set_blocking(self.read_end, False)
        try:
            data = os.read(self.read_end, 1 << 20)
        except BlockingIOError:
            data = b""
        return [json.loads(line) for line in data.decode("utf-8").splitlines()]

    def test_metric_and_progress_shapes(self):
        maelstrom.log_metric("loss", 0.25, step=3)
        maelstrom.log_metric("acc", 1)
        maelstrom.log_metric("bad", float("nan"))
        maelstrom.report_progress(0.5, "half")
        maelstrom.report_progress(None, "loading")
        maelstrom.report_progress(1)
        events = self.events()
        self.assertEqual(list(events[0]), ["type", "name", "value", "step", "time"])
        self.assertEqual({k: v for k, v in events[0].items() if k != "time"}, {"type": "metric", "name": "loss", "value": 0.25, "step": 3})
        self.assertIsInstance(events[0]["time"], int)
        self.assertEqual((events[1]["value"], events[1]["step"]), (1.0, None))
        self.assertIsNone(events[2]["value"])  # as JSON.stringify writes NaN
        self.assertEqual(events[3:], [{"type": "progress", "fraction": 0.5, "message": "half"}, {"type": "progress", "fraction": None, "message": "loading"}, {"type": "progress", "fraction": 1.0, "message": None}])

    def test_in_a_fused_chain_the_call_index_is_added(self):
        from maelstrom import events

        events._call_index = 2
        try:
            maelstrom.log_metric("loss", 0.5)
            maelstrom.report_progress(0.5)
            events.emit({"type": "done", "metrics": {}})
        finally:
            events._call_index = None
        maelstrom.report_progress(1)
        self.assertEqual([event.get("index") for event in self.events()], [2, 2, None, None])

    def test_bad_values_are_refused(self):
        with self.assertRaisesRegex(TypeError, r"log_metric\('loss'\): value must be a number, got str \('x'\)"):
            maelstrom.log_metric("loss", "x")
        with self.assertRaisesRegex(TypeError, "value must be a number, got bool"):
            maelstrom.log_metric("loss", True)
        with self.assertRaisesRegex(TypeError, "step must be an int or None"):
            maelstrom.log_metric("loss", 1.0, step=1.5)
        with self.assertRaisesRegex(TypeError, "name must be a non-empty string"):
            maelstrom.log_metric("", 1.0)
        with self.assertRaisesRegex(ValueError, r"fraction must be between 0 and 1 \(or None\), got 1.5"):
            maelstrom.report_progress(1.5)
        with self.assertRaisesRegex(TypeError, "message must be a string or None"):
            maelstrom.report_progress(0.1, 5)
        self.assertEqual(self.events(), [])

    def test_without_a_descriptor_events_go_to_stderr(self):
        env = {k: v for k, v in os.environ.items() if k != "MAELSTROM_EVENT_FD"}
        env["PYTHONPATH"] = PYTHON_DIR
        result = subprocess.run([sys.executable, "-c", "import maelstrom; maelstrom.log_metric('m', 2, step=1)"], capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        event = json.loads(result.stderr)
        self.assertEqual((event["type"], event["name"], event["value"], event["step"]), ("metric", "m", 2.0, 1))


class WithoutNumpyTest(unittest.TestCase):
    def test_the_package_imports_and_says_what_is_missing(self):
        script = textwrap.dedent("""
            import sys
            sys.modules["numpy"] = None  # import numpy now raises ImportError
            import maelstrom, maelstrom.types, maelstrom.runner
            assert maelstrom.MetaVariables({"a": 1}).get("a") == 1
            maelstrom.report_progress(0.5)
            for call in (lambda: maelstrom.Bundle({"x": [1]}), lambda: maelstrom.read_bundle("/nonexistent")):
                try:
                    call()
                except maelstrom.MissingDependencyError as error:
                    print(error)
        """)
        env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
        env.pop("MAELSTROM_EVENT_FD", None)
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.splitlines()
        self.assertEqual(len(lines), 2, result.stdout)
        self.assertTrue(lines[0].startswith(f"maelstrom.Bundle needs numpy, which is not installed for {sys.executable} (Python "), lines[0])
        self.assertIn("apt-get install python3-numpy or pip install numpy", lines[0])
        self.assertTrue(lines[1].startswith("read_bundle needs numpy"), lines[1])
        self.assertTrue(issubclass(maelstrom.MissingDependencyError, ImportError))


class InstallTest(TempDirTest):
    def test_pip_installs_the_package(self):
        if subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True).returncode != 0:
            self.skipTest(f"no pip for {sys.executable}")
        # Offline, the build runs without isolation: setuptools and a bdist_wheel (wheel, or setuptools >= 70.1) must be installed.
        probe = "import setuptools\ntry:\n    import setuptools.command.bdist_wheel\nexcept ImportError:\n    import wheel"
        if subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode != 0:
            self.skipTest(f"no setuptools with bdist_wheel for {sys.executable}")
        source = os.path.join(self.tmp, "src")
        shutil.copytree(PYTHON_DIR, source, ignore=shutil.ignore_patterns("tests", "__pycache__", "build", "*.egg-info"))
        target = os.path.join(self.tmp, "site")
        result = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-build-isolation", "--no-deps", "--no-index", "--target", target, source],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        self.assertEqual(result.returncode, 0, result.stderr)
        env = dict(os.environ, PYTHONPATH=target)
        check = subprocess.run(
            [sys.executable, "-c", "import maelstrom, maelstrom.runner, os; print(maelstrom.__version__, os.path.dirname(maelstrom.__file__))"],
            capture_output=True, text=True, env=env, cwd=self.tmp, timeout=60,
        )  # fmt: skip
        self.assertEqual(check.returncode, 0, check.stderr)
        version, location = check.stdout.split()
        self.assertEqual(version, maelstrom.__version__)
        self.assertEqual(location, os.path.join(target, "maelstrom"))


if __name__ == "__main__":
    unittest.main()
