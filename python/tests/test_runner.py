"""The step runner as the engine runs it: a child process, a spec file, events on an fd-3 pipe."""
from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import textwrap
import time
import unittest

import numpy as np

import maelstrom
from maelstrom import Bundle, read_bundle, write_bundle

from .support import PYTHON_DIR, TempDirTest, have, run_step, write_files

RUNNER_FILE = os.path.join(PYTHON_DIR, "maelstrom", "runner.py")


class RunnerTest(TempDirTest):
    def setUp(self) -> None:
        super().setUp()
        self.checkout = os.path.join(self.tmp, "checkout")
        os.mkdir(self.checkout)

    def step(self, call: str, files: dict[str, str], *, entry: str = "step.py", parameters: dict | None = None, input: Bundle | str | None = None, state: str | None = None, env: dict | None = None, python: str | None = None, spec_extra: dict | None = None):
        write_files(self.checkout, files)
        input_dir = input
        if isinstance(input, Bundle):
            input_dir = self.fresh("input")
            write_bundle(input, input_dir)
        self.output = self.fresh("output")
        spec = {
            "call": call,
            "artifact": "demo",
            "module": os.path.join(self.checkout, entry),
            "parameters": parameters or {},
            "inputs": {} if input_dir is None else {"data": input_dir},
            "outputs": {"data": self.output},
            "state": state,
            **(spec_extra or {}),
        }
        return run_step(spec, self.fresh("spec") + ".json", env=env, python=python)

    def assertDone(self, result):
        self.assertEqual(result.code, 0, result)
        self.assertEqual(result.last.get("type"), "done", result)
        return result.last

    def assertFailed(self, result, reason: str):
        self.assertEqual(result.code, 1, result)
        failed = result.last
        self.assertEqual(failed.get("type"), "failed", result)
        self.assertEqual(failed["reason"], reason, result)
        self.assertEqual(sorted(failed), ["location", "message", "reason", "stack", "type"])
        self.assertEqual(len(result.of("done")), 0)
        return failed


class SuccessTest(RunnerTest):
    def test_get_writes_the_bundle_and_reports_resources_and_environment(self):
        result = self.step(
            "get",
            {
                "step.py": """
                    import maelstrom
                    import helpers

                    def get(meta):
                        n = meta.get("n")
                        return maelstrom.Bundle({"x": list(range(n)), "label": helpers.labels(n)}, attrs={"source": meta.get("source", "test")})
                """,
                "helpers.py": """
                    __version__ = "9.9"
                    def labels(n):
                        return [f"item {i}" for i in range(n)]
                """,
            },
            parameters={"n": 3},
        )
        done = self.assertDone(result)
        self.assertEqual(list(done), ["type", "metrics", "resources", "environment"])
        self.assertEqual(done["metrics"], {})
        self.assertEqual(sorted(done["resources"]), ["maxRssBytes", "systemCpuMs", "userCpuMs", "wallMs"])
        self.assertGreater(done["resources"]["wallMs"], 0)
        self.assertGreater(done["resources"]["maxRssBytes"], 1024 * 1024)
        env = done["environment"]
        self.assertEqual(env["python"], platform.python_version())
        self.assertEqual(env["executable"], sys.executable)
        self.assertEqual(env["packages"]["numpy"], np.__version__)
        self.assertEqual(env["packages"]["maelstrom"], maelstrom.__version__)
        self.assertNotIn("helpers", env["packages"])  # the step's own module
        self.assertNotIn("json", env["packages"])  # stdlib
        bundle = read_bundle(self.output)
        self.assertEqual(bundle.to_numpy("label").tolist(), ["item 0", "item 1", "item 2"])
        self.assertEqual(bundle.attrs, {"source": "test"})

    @unittest.skipUnless(have("sklearn"), "scikit-learn is not installed")
    def test_environment_lists_imported_packages_with_their_versions(self):
        import sklearn

        done = self.assertDone(
            self.step(
                "get",
                {"step.py": """
                    import maelstrom
                    from sklearn.linear_model import LinearRegression

                    def get(meta):
                        return maelstrom.Bundle({"x": [1.0]})
                """},
            )
        )
        self.assertEqual(done["environment"]["packages"]["sklearn"], sklearn.__version__)
        self.assertIn("scipy", done["environment"]["packages"])

    def test_transform_reads_the_input_and_passes_meta(self):
        result = self.step(
            "transform",
            {"step.py": """
                import numpy as np
                from maelstrom.types import Bundle

                def apply(bundle, meta):
                    x = bundle.to_numpy("x")
                    return Bundle({"y": x * meta.get("factor"), "w": bundle.to_numpy("w")})
            """},
            parameters={"factor": 2.5},
            input=Bundle({"x": [1.0, 2.0], "w": ["a", "b"]}),
        )
        self.assertDone(result)
        out = read_bundle(self.output)
        self.assertEqual(out.to_numpy("y").tolist(), [2.5, 5.0])
        self.assertEqual(out.to_numpy("w").tolist(), ["a", "b"])

    def test_train_pickles_the_model_and_predict_loads_it(self):
        files = {"step.py": """
            import maelstrom
            import numpy as np

            class MeanModel:
                def __init__(self, mean):
                    self.mean = mean

            def train(bundle, meta):
                x = bundle.to_numpy("x")
                for epoch in range(3):
                    maelstrom.log_metric("loss", 1.0 / (epoch + 1), step=epoch)
                maelstrom.report_progress(0.5, "half way")
                maelstrom.log_metric("odd", float("nan"))
                return MeanModel(np.mean(x)), maelstrom.Bundle({"mean": float(np.mean(x)), "n": len(x), "name": "mean", "series": [1.0, 2.0]})

            def apply(model, bundle):
                return maelstrom.Bundle({"prediction": np.full(bundle.dims["row"], model.mean)})
        """}
        state = os.path.join(self.tmp, "state")
        train = self.step("train", files, input=Bundle({"x": [1.0, 2.0, 6.0]}), state=state)
        done = self.assertDone(train)
        # Scalar numeric variables of the metrics bundle are the metrics.
        self.assertEqual(done["metrics"], {"mean": 3.0, "n": 3.0})
        self.assertEqual([(e["name"], e["value"], e["step"]) for e in train.of("metric")], [("loss", 1.0, 0), ("loss", 0.5, 1), ("loss", 1 / 3, 2), ("odd", None, None)])
        self.assertIsInstance(train.of("metric")[0]["time"], int)
        self.assertEqual(train.of("progress"), [{"type": "progress", "fraction": 0.5, "message": "half way"}])
        self.assertEqual([e["type"] for e in train.events], ["metric"] * 3 + ["progress", "metric", "done"])
        self.assertEqual(sorted(os.listdir(state)), ["environment.json", "model.pkl"])
        with open(os.path.join(state, "environment.json")) as f:
            saved = json.load(f)
        self.assertEqual((saved["python"], saved["executable"], saved["packages"]["numpy"], saved["pickle_protocol"]), (platform.python_version(), sys.executable, np.__version__, 5))
        with open(os.path.join(state, "model.pkl"), "rb") as f:
            self.assertEqual(f.read(2), b"\x80\x05")  # pickle protocol 5
        self.assertEqual(read_bundle(self.output).variables, ["mean", "n", "name", "series"])

        predict = self.step("predict", files, input=Bundle({"x": [0.0, 0.0]}), state=state)
        self.assertDone(predict)
        self.assertEqual(read_bundle(self.output).to_numpy("prediction").tolist(), [3.0, 3.0])

    def test_train_accepts_a_dict_of_numbers_as_metrics_and_a_list_pair(self):
        done = self.assertDone(
            self.step(
                "train",
                {"step.py": """
                    import numpy as np
                    def train(bundle, meta):
                        return [{"w": 1}, {"accuracy": np.float32(0.75), "count": 4}]
                    def apply(model, bundle):
                        return bundle
                """},
                input=Bundle({"x": [1.0]}),
                state=os.path.join(self.tmp, "state"),
            )
        )
        self.assertEqual(done["metrics"], {"accuracy": 0.75, "count": 4.0})
        self.assertEqual(read_bundle(self.output).variable("accuracy").shape, ())

    def test_save_and_load_replace_pickle(self):
        files = {"step.py": """
            import json, os
            import maelstrom

            def train(bundle, meta):
                return {"offset": 10.0}, maelstrom.Bundle({})

            def save(model, directory):
                with open(os.path.join(directory, "weights.json"), "w") as f:
                    json.dump(model, f)

            def load(directory):
                with open(os.path.join(directory, "weights.json")) as f:
                    return json.load(f)

            def apply(model, bundle):
                return maelstrom.Bundle({"y": bundle.to_numpy("x") + model["offset"]})
        """}
        state = os.path.join(self.tmp, "state")
        self.assertDone(self.step("train", files, input=Bundle({"x": [1.0]}), state=state))
        self.assertEqual(os.listdir(state), ["weights.json"])
        self.assertDone(self.step("predict", files, input=Bundle({"x": [1.0, 2.0]}), state=state))
        self.assertEqual(read_bundle(self.output).to_numpy("y").tolist(), [11.0, 12.0])

    def test_async_functions_and_sibling_imports_of_the_entry(self):
        done = self.assertDone(
            self.step(
                "get",
                {
                    "step.py": """
                        import maelstrom
                        import other

                        async def get(meta):
                            return maelstrom.Bundle({"same": [other.same_module()]})
                    """,
                    "other.py": """
                        def same_module():
                            import sys, step
                            return step is sys.modules[step.__name__] and step.__name__.startswith("maelstrom_entry_")
                    """,
                },
            )
        )
        self.assertEqual(done["type"], "done")
        self.assertEqual(read_bundle(self.output).to_numpy("same").tolist(), [True])

    def test_the_checkout_gets_no_pycache_and_started_programs_do_not_get_the_event_pipe(self):
        result = self.step(
            "get",
            {
                "step.py": """
                    import os, subprocess, sys
                    import maelstrom, helpers

                    def get(meta):
                        child = subprocess.run([sys.executable, "-c", "import os; os.fstat(3)"], capture_output=True)
                        print("inherited env:", os.environ.get("MAELSTROM_EVENT_FD"), flush=True)
                        maelstrom.log_metric("child_fd3_open", float(child.returncode == 0))
                        return maelstrom.Bundle({"x": [1]})
                """,
                "helpers.py": "X = 1\n",
            },
            env={"PYTHONDONTWRITEBYTECODE": ""},
        )
        self.assertDone(result)
        self.assertEqual(result.of("metric")[0]["value"], 0.0)
        self.assertIn("inherited env: None", result.stdout)
        self.assertEqual(sorted(os.listdir(self.checkout)), ["helpers.py", "step.py"])

    def test_the_runner_started_as_a_file_without_pythonpath(self):
        write_files(self.checkout, {"step.py": "import maelstrom\ndef get(meta):\n    return maelstrom.Bundle({'x': [1]})\n"})
        spec = os.path.join(self.tmp, "spec.json")
        output = self.fresh("output")
        with open(spec, "w") as f:
            json.dump({"call": "get", "artifact": "demo", "module": os.path.join(self.checkout, "step.py"), "parameters": {}, "inputs": {}, "outputs": {"data": output}, "state": None}, f)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MAELSTROM_EVENT_FD")}
        result = subprocess.run([sys.executable, RUNNER_FILE, spec], capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        # Without MAELSTROM_EVENT_FD the events go to stderr.
        self.assertEqual(json.loads(result.stderr.strip().splitlines()[-1])["type"], "done")
        self.assertEqual(read_bundle(output).variables, ["x"])


class FailureTest(RunnerTest):
    def test_syntax_error_is_a_load_failure_with_file_and_line(self):
        failed = self.assertFailed(self.step("get", {"step.py": "import maelstrom\n\ndef get(meta)\n    return 1\n"}), "load")
        self.assertTrue(failed["message"].startswith("SyntaxError: "), failed)
        self.assertEqual(failed["location"], "step.py:3")
        failed = self.assertFailed(self.step("get", {"step.py": "import broken\n", "broken.py": "x = (\n"}), "load")
        self.assertEqual(failed["location"], "broken.py:1")

    def test_import_error_names_the_package_the_interpreter_and_how_to_install_it(self):
        result = self.step("get", {"step.py": "import maelstrom\nimport not_installed_pkg.sub\n\ndef get(meta):\n    pass\n"})
        failed = self.assertFailed(result, "load")
        self.assertEqual(
            failed["message"],
            f"ModuleNotFoundError: No module named 'not_installed_pkg'; the package 'not_installed_pkg' is not installed for {sys.executable} (Python {platform.python_version()}): "
            f"apt-get install python3-not-installed-pkg or pip install not_installed_pkg for {sys.executable} (`{sys.executable} -m pip install not_installed_pkg`)",
        )
        self.assertEqual(failed["location"], "step.py:2")
        self.assertIn("ModuleNotFoundError", result.stderr)
        if have("sklearn"):
            failed = self.assertFailed(self.step("get", {"step.py": "import sklearn.no_such_module\n"}), "load")
            self.assertIn("'sklearn' is installed for", failed["message"])
            self.assertIn("but has no module 'sklearn.no_such_module'", failed["message"])
        failed = self.assertFailed(self.step("get", {"step.py": "import yaml_missing_xyz as y\n"}), "load")
        self.assertIn("pip install yaml_missing_xyz", failed["message"])

    def test_known_import_names_map_to_their_packages(self):
        from maelstrom._deps import install_hint

        self.assertTrue(install_hint("sklearn.ensemble").startswith("apt-get install python3-sklearn or pip install scikit-learn for "))
        self.assertTrue(install_hint("yaml").startswith("apt-get install python3-yaml or pip install pyyaml"))

    def test_exception_at_import_is_a_load_failure(self):
        failed = self.assertFailed(self.step("get", {"step.py": "import maelstrom\n\nraise RuntimeError('no config')\n"}), "load")
        self.assertEqual((failed["message"], failed["location"]), ("RuntimeError: no config", "step.py:3"))

    def test_user_exception_gives_message_innermost_user_location_and_traceback(self):
        result = self.step(
            "transform",
            {
                "step.py": """
                    import helpers

                    def apply(bundle, meta):
                        return helpers.check(bundle)
                """,
                "helpers.py": """
                    import numpy as np

                    def check(bundle):
                        values = bundle.to_numpy("x")
                        if values.sum() > 0:
                            raise ValueError(f"bad value {values.sum()}")
                """,
            },
            input=Bundle({"x": [1.0, 2.0]}),
        )
        failed = self.assertFailed(result, "user")
        self.assertEqual(failed["message"], "ValueError: bad value 3.0")
        self.assertEqual(failed["location"], "helpers.py:6")
        self.assertTrue(failed["stack"].startswith("Traceback (most recent call last):\n"), failed["stack"])
        self.assertIn('helpers.py", line 6, in check', failed["stack"])
        self.assertIn('step.py", line 4, in apply', failed["stack"])
        self.assertNotIn("runner.py", failed["stack"])  # the runner's own frames are left out
        self.assertIn("ValueError: bad value 3.0", result.stderr)
        self.assertIn('helpers.py", line 6, in check', result.stderr)

    def test_location_is_the_users_line_when_a_library_raises(self):
        failed = self.assertFailed(
            self.step("get", {"step.py": "import numpy as np\n\ndef get(meta):\n    return np.reshape(np.arange(3), (2, 2))\n"}),
            "user",
        )
        self.assertTrue(failed["message"].startswith("ValueError: cannot reshape array of size 3"), failed)
        self.assertEqual(failed["location"], "step.py:4")

    def test_system_exit_in_user_code_is_a_user_failure(self):
        failed = self.assertFailed(self.step("get", {"step.py": "import sys\ndef get(meta):\n    sys.exit(3)\n"}), "user")
        self.assertEqual(failed["message"], "SystemExit: 3")

    def test_an_undeclared_parameter_is_a_user_failure_naming_the_declared_ones(self):
        failed = self.assertFailed(self.step("get", {"step.py": "def get(meta):\n    return meta.get('depth')\n"}, parameters={"trees": 5}), "user")
        self.assertEqual(
            failed["message"],
            "ParameterError: parameter 'depth' is not declared in the manifest of demo (declared: trees); declare it under 'parameters:' or pass a default: meta.get(\"depth\", value)",
        )

    def test_wrong_return_types_are_contract_failures(self):
        failed = self.assertFailed(self.step("transform", {"step.py": "def apply(bundle, meta):\n    return [1, 2, 3]\n"}, input=Bundle({"x": [1]})), "contract")
        self.assertEqual(
            failed["message"],
            "apply of demo returned a list of length 3, expected a maelstrom.Bundle (build one with maelstrom.Bundle({...}) from a dict of arrays, a pandas.DataFrame or an xarray.Dataset)",
        )
        self.assertIsNone(failed["location"])
        failed = self.assertFailed(self.step("get", {"step.py": "def get(meta):\n    return None\n"}), "contract")
        self.assertEqual(failed["message"], "get of demo returned None, expected a maelstrom.Bundle (build one with maelstrom.Bundle({...}) from a dict of arrays, a pandas.DataFrame or an xarray.Dataset)")
        if have("pandas"):
            failed = self.assertFailed(self.step("get", {"step.py": "import pandas as pd\ndef get(meta):\n    return pd.DataFrame({'x': [1]})\n"}), "contract")
            self.assertIn("get of demo returned a pandas.DataFrame, expected a maelstrom.Bundle (wrap it: maelstrom.Bundle(value))", failed["message"])
        state = os.path.join(self.tmp, "state")
        failed = self.assertFailed(self.step("train", {"step.py": "import maelstrom\ndef train(b, m):\n    return maelstrom.Bundle({})\ndef apply(model, b):\n    return b\n"}, input=Bundle({"x": [1]}), state=state), "contract")
        self.assertTrue(failed["message"].startswith("train of demo returned a maelstrom.Bundle, expected (model, Bundle)"), failed)
        failed = self.assertFailed(self.step("train", {"step.py": "def train(b, m):\n    return 1, [0.5]\ndef apply(model, b):\n    return b\n"}, input=Bundle({"x": [1]}), state=state), "contract")
        self.assertIn("train of demo returned (model, a list of length 1), expected (model, Bundle)", failed["message"])

    def test_missing_functions_and_wrong_signatures_are_contract_failures(self):
        files = {"step.py": """
            import numpy as np

            class Model:
                pass

            def helper():
                pass

            def apply(model, bundle):
                return bundle
        """}
        failed = self.assertFailed(self.step("train", files, input=Bundle({"x": [1]}), state=os.path.join(self.tmp, "s")), "contract")
        self.assertEqual(failed["message"], "the entry of demo does not export a function 'train' (expected train(bundle, meta) -> (model, Bundle)); it defines: Model, helper, apply")
        failed = self.assertFailed(self.step("get", {"step.py": "get = 5\n"}), "contract")
        self.assertEqual(failed["message"], "the entry of demo defines 'get' as an int (5), not a function (expected get(meta) -> Bundle)")
        failed = self.assertFailed(self.step("train", {"step.py": "def train(bundle, meta):\n    return 1, {}\n"}, input=Bundle({"x": [1]}), state=os.path.join(self.tmp, "s")), "contract")
        self.assertEqual(failed["message"], "the entry of demo does not export a function 'apply' (expected apply(model, bundle) -> Bundle); it defines: train")
        failed = self.assertFailed(self.step("transform", {"step.py": "def apply(bundle):\n    return bundle\n"}, input=Bundle({"x": [1]})), "contract")
        self.assertEqual(failed["message"], "apply of demo cannot be called as apply(bundle, meta): it is defined as apply(bundle) (too many positional arguments)")

    def test_a_model_that_cannot_be_pickled_is_a_contract_failure(self):
        failed = self.assertFailed(
            self.step("train", {"step.py": "import maelstrom\ndef train(b, m):\n    return (lambda x: x), {}\ndef apply(model, b):\n    return b\n"}, input=Bundle({"x": [1]}), state=os.path.join(self.tmp, "s")),
            "contract",
        )
        self.assertRegex(failed["message"], r"^the model returned by train of demo cannot be pickled \((PicklingError|AttributeError): .*\); return picklable objects, or define save\(model, dir\) and load\(dir\) in the entry$")

    def test_an_unloadable_pickle_is_a_load_failure_naming_the_file_and_versions(self):
        files = {"step.py": "def apply(model, bundle):\n    return bundle\n"}
        state = os.path.join(self.tmp, "state")
        os.mkdir(state)
        # Like what numpy 2 writes for an array (numpy._core.multiarray._reconstruct), read by a
        # numpy 1 that has no numpy._core; this module exists in no numpy.
        with open(os.path.join(state, "model.pkl"), "wb") as f:
            f.write(b"\x80\x05cnumpy._future_core.multiarray\n_reconstruct\n.")
        with open(os.path.join(state, "environment.json"), "w") as f:
            json.dump({"python": "3.12.9", "executable": "/opt/py/bin/python3", "packages": {"numpy": "2.9.0", "maelstrom": "0.1.0"}}, f)
        failed = self.assertFailed(self.step("predict", files, input=Bundle({"x": [1]}), state=state), "load")
        path = os.path.join(state, "model.pkl")
        self.assertEqual(
            failed["message"],
            f"cannot load the model state {path}: ModuleNotFoundError: No module named 'numpy._future_core'; it was saved by Python 3.12.9 (/opt/py/bin/python3) with numpy 2.9.0; "
            f"this step runs Python {platform.python_version()} ({sys.executable}) with numpy {np.__version__}. Retrain the model with this interpreter, or run the step with the one it was trained with",
        )
        self.assertIsNone(failed["location"])
        # Garbage, and no record of what wrote it.
        os.remove(os.path.join(state, "environment.json"))
        with open(path, "wb") as f:
            f.write(b"not a pickle")
        failed = self.assertFailed(self.step("predict", files, input=Bundle({"x": [1]}), state=state), "load")
        self.assertTrue(failed["message"].startswith(f"cannot load the model state {path}: UnpicklingError: "), failed)
        self.assertIn(f"this step runs Python {platform.python_version()} ({sys.executable}) with ", failed["message"])

    def test_a_pickle_from_another_numpy_major_version(self):
        other = shutil.which("python3")
        probe = subprocess.run([other, "-c", "import numpy; print(numpy.__version__)"], capture_output=True, text=True) if other else None
        if probe is None or probe.returncode != 0 or probe.stdout.split(".")[0] == np.__version__.split(".")[0]:
            self.skipTest("no python3 on PATH with another numpy major version")
        other_version = probe.stdout.strip()
        files = {"step.py": """
            import numpy as np
            import maelstrom
            def train(bundle, meta):
                return {"weights": np.arange(3.0)}, {}
            def apply(model, bundle):
                return maelstrom.Bundle({"w": model["weights"]})
        """}
        state = os.path.join(self.tmp, "state")
        self.assertDone(self.step("train", files, input=Bundle({"x": [1.0]}), state=state, python=other))
        newer = int(other_version.split(".")[0]) > int(np.__version__.split(".")[0])
        predict = self.step("predict", files, input=Bundle({"x": [1.0]}), state=state)
        if newer:
            failed = self.assertFailed(predict, "load")
            self.assertIn(f"cannot load the model state {os.path.join(state, 'model.pkl')}: ModuleNotFoundError: No module named 'numpy._core'", failed["message"])
            self.assertIn(f"with numpy {other_version}; this step runs Python {platform.python_version()} ({sys.executable}) with numpy {np.__version__}", failed["message"])
        else:
            self.assertDone(predict)

    def test_missing_state_and_errors_in_save_or_load(self):
        files = {"step.py": "def apply(model, bundle):\n    return bundle\n"}
        state = os.path.join(self.tmp, "empty-state")
        os.mkdir(state)
        failed = self.assertFailed(self.step("predict", files, input=Bundle({"x": [1]}), state=state), "load")
        self.assertEqual(failed["message"], f"no model state for demo: {os.path.join(state, 'model.pkl')} does not exist (it has: nothing); the model is trained by train, or read by load(dir) if the entry defines it")
        files = {"step.py": """
            def train(b, m):
                return 1, {}
            def save(model, directory):
                raise OSError("disk full")
            def load(directory):
                raise KeyError("weights")
            def apply(model, b):
                return b
        """}
        failed = self.assertFailed(self.step("train", files, input=Bundle({"x": [1]}), state=os.path.join(self.tmp, "s")), "user")
        self.assertEqual((failed["message"], failed["location"]), ("OSError: disk full", "step.py:4"))
        failed = self.assertFailed(self.step("predict", files, input=Bundle({"x": [1]}), state=os.path.join(self.tmp, "s")), "user")
        self.assertEqual((failed["message"], failed["location"]), ("KeyError: 'weights'", "step.py:6"))

    def test_bad_specs_and_missing_entries(self):
        failed = self.assertFailed(self.step("fit", {"step.py": ""}), "contract")
        self.assertIn("field 'call' is \"fit\", which is not valid (expected one of get, transform, train, predict)", failed["message"])
        failed = self.assertFailed(self.step("get", {}, entry="missing.py"), "load")
        self.assertEqual(failed["message"], f"the entry file {os.path.join(self.checkout, 'missing.py')} does not exist (or is not a file)")
        failed = self.assertFailed(self.step("transform", {"step.py": "def apply(b, m):\n    return b\n"}, input=os.path.join(self.tmp, "nowhere")), "contract")
        self.assertEqual(failed["message"], f"cannot read the input bundle of demo: cannot read bundle: {os.path.join(self.tmp, 'nowhere')} does not exist")
        failed = self.assertFailed(self.step("get", {"step.py": "import maelstrom\ndef get(meta):\n    return maelstrom.Bundle({'s': ['\\ud800']})\n"}), "contract")
        self.assertTrue(failed["message"].startswith("cannot write the bundle get of demo returned: variable 's' holds a string that is not valid Unicode"), failed)

    def test_an_interpreter_without_numpy_gets_a_clear_load_failure(self):
        fake = os.path.join(self.tmp, "fake-site")
        write_files(fake, {"numpy/__init__.py": "raise ImportError(\"No module named 'numpy'\")\n"})
        failed = self.assertFailed(
            self.step("get", {"step.py": "def get(meta):\n    pass\n"}, env={"PYTHONPATH": os.pathsep.join([PYTHON_DIR, fake])}),
            "load",
        )
        self.assertEqual(
            failed["message"],
            f"the maelstrom runner needs numpy, which is not installed for {sys.executable} (Python {platform.python_version()}): "
            f"apt-get install python3-numpy or pip install numpy for {sys.executable} (`{sys.executable} -m pip install numpy`), or choose an interpreter that has it",
        )


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


@unittest.skipUnless(sys.platform.startswith("linux"), "reads /proc")
class WatchdogTest(RunnerTest):
    """A step stops itself and its children when the engine dies, even while user code is busy."""

    def run_orphaned(self, with_engine_env: bool) -> None:
        pid_file = os.path.join(self.tmp, "grandchild.pid")
        write_files(self.checkout, {"step.py": f"""
            import subprocess, time
            def get(meta):
                child = subprocess.Popen(["sleep", "60"])
                with open({pid_file!r}, "w") as f:
                    f.write(str(child.pid))
                while True:  # busy: never yields
                    sum(range(1000))
        """})
        spec = os.path.join(self.tmp, "spec.json")
        with open(spec, "w") as f:
            json.dump({"call": "get", "artifact": "demo", "module": os.path.join(self.checkout, "step.py"), "parameters": {}, "inputs": {}, "outputs": {"data": self.fresh("out")}, "state": None}, f)
        # The "engine": starts the runner in a process group of its own, then dies.
        engine = textwrap.dedent(f"""
            import os, subprocess, sys, time
            env = dict(os.environ, PYTHONPATH={PYTHON_DIR!r})
            env.pop("MAELSTROM_ENGINE_PID", None)
            if {with_engine_env!r}:
                env["MAELSTROM_ENGINE_PID"] = str(os.getpid())
            p = subprocess.Popen([sys.executable, "-m", "maelstrom.runner", {spec!r}], env=env, start_new_session=True)
            print(p.pid, flush=True)
            while not os.path.exists({pid_file!r}):
                time.sleep(0.05)
            time.sleep(0.3)
            os._exit(0)
        """)
        result = subprocess.run([sys.executable, "-c", engine], capture_output=True, text=True, timeout=60)
        runner = int(result.stdout.strip())
        with open(pid_file) as f:
            grandchild = int(f.read())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (_alive(runner) or _alive(grandchild)):
            time.sleep(0.1)
        stuck = [pid for pid in (runner, grandchild) if _alive(pid)]
        for pid in stuck:
            os.kill(pid, 9)
        self.assertEqual(stuck, [], "the step outlived its engine")

    def test_with_the_engine_pid_in_the_environment(self):
        self.run_orphaned(True)

    def test_with_the_parent_at_start_as_the_engine(self):
        self.run_orphaned(False)


if __name__ == "__main__":
    unittest.main()
