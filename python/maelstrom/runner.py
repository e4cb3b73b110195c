"""
The Python step runner: the entry point of every Python step's child process, the counterpart of
packages/runtime/src/node-runner.ts with the same protocol.

    python -m maelstrom.runner SPEC.json
    python -m maelstrom.runner --worker

SPEC.json is a StepSpec (packages/core/src/protocol/events.ts): call, artifact, module, parameters,
inputs, outputs, state (and optionally checkout, the artifact's root folder, and next, the steps fused
after this one: each gets the previous call's output Bundle in memory, and only the last call's result
is written). Events go as JSON lines to the descriptor in MAELSTROM_EVENT_FD (the engine passes 3),
the user's prints to stdout/stderr (the step log). Exit status 0 after a `done` event, 1 after a
`failed` one.

--worker is a warm worker (packages/runtime/src/worker-pool.ts): one spec file path per line on
stdin, each step run as in the one-shot mode, in the cwd, environment and log its spec's field
`worker` names; a failed step ends the worker (exit status 1), the end of stdin ends it with 0.
"""
from __future__ import annotations

import os
import sys

if __name__ == "__main__" and not __package__:
    # Started as a file (python .../maelstrom/runner.py): import the package from its parent folder
    # instead, so that maelstrom/types.py cannot shadow the standard library's `types`.
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]
    sys.path.insert(0, os.path.dirname(_here))
    from maelstrom.runner import main as _main

    _main(sys.argv[1:])

import time  # noqa: E402

_STARTED = time.monotonic()

import importlib.util  # noqa: E402
import inspect  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import numbers  # noqa: E402
import pickle  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import threading  # noqa: E402
import traceback  # noqa: E402
from typing import Any, NoReturn  # noqa: E402

from maelstrom import events  # noqa: E402
from maelstrom._deps import install_hint, interpreter  # noqa: E402
from maelstrom.meta import MetaVariables  # noqa: E402

__all__ = ["main", "scalar_metrics", "environment"]

ENGINE_PID_ENV = "MAELSTROM_ENGINE_PID"
STATE_FILE = "model.pkl"
STATE_ENVIRONMENT_FILE = "environment.json"
PICKLE_PROTOCOL = 5
_CALLS = ("get", "transform", "train", "predict")
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class ContractError(Exception):
    """The module or its return value does not fit the artifact kind (reason "contract")."""


class _Failure(Exception):
    """A failure already described: reason, message, location, stack."""

    def __init__(self, reason: str, message: str, location: str | None = None, stack: str | None = None):
        super().__init__(message)
        self.reason, self.message, self.location, self.stack = reason, message, location, stack


# ---------------------------------------------------------------------------------------------
# Process


def _exit(code: int) -> NoReturn:
    """Ends now, like process.exit: user threads that never finish must not keep the step alive."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - a closed stream must not hide the exit code
            pass
    os._exit(code)


def _watch_engine() -> None:
    """When the engine dies (kill -9 included) this step and its children stop too. A daemon thread
    notices the re-parenting, so this works while user code keeps the main thread busy."""
    try:
        engine = int(os.environ.get(ENGINE_PID_ENV, "")) or os.getppid()
    except ValueError:
        engine = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(0.25)
            if os.getppid() == engine:
                continue
            try:
                os.killpg(os.getpid(), signal.SIGKILL)  # the runner leads its process group
            except OSError:
                os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="maelstrom-watchdog", daemon=True).start()


def _keep_event_fd_private() -> None:
    """Programs the step starts must not hold the event pipe open (the engine waits for it to
    close) nor write into whatever their own fd 3 is: the descriptor is not inherited across exec
    and the variable naming it is not passed on. Forked workers keep it, so they can log metrics."""
    fd = events._event_fd()
    if fd is None:
        return
    try:
        os.set_inheritable(fd, False)
    except OSError:
        return
    events._configured_fd = fd
    os.environ.pop(events.EVENT_FD_ENV, None)


def _fail(failure: _Failure) -> NoReturn:
    # The traceback goes to the step log too, where the user looks for it.
    sys.stderr.write((failure.stack or failure.message).rstrip("\n") + "\n")
    events.emit({"type": "failed", "reason": failure.reason, "message": failure.message, "location": failure.location, "stack": failure.stack})
    _exit(1)


# ---------------------------------------------------------------------------------------------
# Describing errors


def _in_folder(filename: str | None, folder: str) -> bool:
    if not filename or filename.startswith("<"):
        return False
    path = os.path.realpath(filename)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _relative(filename: str, folder: str) -> str:
    return os.path.relpath(os.path.realpath(filename), folder) if _in_folder(filename, folder) else filename


def _trimmed(tb):
    """The traceback without the runner's and importlib's own leading frames."""
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if not (name.startswith("<frozen") or _in_folder(name, _PACKAGE_DIR)):
            break
        tb = tb.tb_next
    return tb


def _stack(error: BaseException) -> str:
    return "".join(traceback.format_exception(type(error), error, _trimmed(error.__traceback__)))


def _message(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _location(error: BaseException, checkout: str) -> str | None:
    """file:line of the innermost frame in the user's files ("model.py:12")."""
    if isinstance(error, SyntaxError) and error.filename and error.lineno:
        return f"{_relative(error.filename, checkout)}:{error.lineno}"
    found = None
    for frame, line in traceback.walk_tb(error.__traceback__):
        if _in_folder(frame.f_code.co_filename, checkout):
            found = f"{_relative(frame.f_code.co_filename, checkout)}:{line}"
    return found


def _missing_module_hint(error: BaseException) -> str | None:
    """For ModuleNotFoundError: which package is missing in which interpreter, and how to install it."""
    name = getattr(error, "name", None)
    if not isinstance(error, ModuleNotFoundError) or not name:
        return None
    top = name.split(".")[0]
    try:
        installed = importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        installed = False
    if installed and top != name:
        return f"'{top}' is installed for {interpreter()} but has no module '{name}' (version {_version_of(top) or 'unknown'}); check the name or the version the code expects"
    return f"the package '{top}' is not installed for {interpreter()}: {install_hint(top)}"


def _user_failure(reason: str, error: BaseException, checkout: str) -> _Failure:
    message = _message(error)
    hint = _missing_module_hint(error)
    if hint is not None:
        message = f"{message}; {hint}"
    return _Failure(reason, message, _location(error, checkout), _stack(error))


def _describe(value: Any) -> str:
    from maelstrom._bundle import _describe as describe

    return describe(value)


# ---------------------------------------------------------------------------------------------
# Loading the step's code


def _load_module(path: str, checkout: str):
    if not os.path.isfile(path):
        raise _Failure("load", f"the entry file {path} does not exist (or is not a file)")
    for folder in dict.fromkeys([checkout, os.path.dirname(path)]):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    stem = os.path.splitext(os.path.basename(path))[0]
    # A fixed name per entry file, so that a model pickled by train unpickles in predict.
    name = "maelstrom_entry_" + re.sub(r"\W", "_", stem)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise _Failure("load", f"cannot load {path} as a Python module (the entry of a python artifact is a .py file)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    # `import <stem>` in a sibling module gets this module, not a second copy of it.
    if stem.isidentifier() and stem not in sys.modules:
        try:
            found = importlib.util.find_spec(stem)
        except (ImportError, ValueError):
            found = None
        if found is not None and found.origin and os.path.realpath(found.origin) == os.path.realpath(path):
            sys.modules[stem] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as error:  # noqa: BLE001 - anything the module does at import is a load failure
        raise _user_failure("load", error, checkout) from None
    return module


def _defined_names(module) -> list[str]:
    return [
        n for n, v in vars(module).items()
        if not n.startswith("_") and (inspect.isfunction(v) or inspect.isclass(v)) and getattr(v, "__module__", None) == module.__name__
    ]  # fmt: skip


def _function(module, name: str, artifact: str, signature: str):
    fn = getattr(module, name, None)
    if fn is None:
        defined = _defined_names(module)
        raise ContractError(f"the entry of {artifact} does not export a function '{name}' (expected {signature}); it defines: {', '.join(defined) or 'nothing'}")
    if not callable(fn):
        raise ContractError(f"the entry of {artifact} defines '{name}' as {_describe(fn)}, not a function (expected {signature})")
    return fn


def _call(fn, args: tuple, what: str, signature: str, checkout: str) -> Any:
    """Calls user code: a wrong signature is a contract failure, an exception inside is the user's."""
    try:
        inspect.signature(fn).bind(*args)
    except TypeError as error:
        raise ContractError(f"{what} cannot be called as {signature}: it is defined as {getattr(fn, '__name__', what)}{inspect.signature(fn)} ({error})") from None
    except ValueError:
        pass  # no signature to check (some builtins)
    try:
        result = fn(*args)
        if inspect.isawaitable(result):
            import asyncio  # only for async step functions: importing it costs ~20 ms per step

            result = asyncio.run(_awaited(result))
        return result
    except BaseException as error:  # noqa: BLE001 - SystemExit in user code is a failure of the step too
        raise _user_failure("user", error, checkout) from None


async def _awaited(awaitable):
    return await awaitable


# ---------------------------------------------------------------------------------------------
# Values


def _as_output(name: str | None) -> str:
    """" as output 'name'" for a named output, nothing for the plain `data` one: the tail of "returned X"."""
    return "" if name is None else f" as output '{name}'"


def _expect_bundle(value: Any, what: str, name: str | None = None):
    from maelstrom import Bundle

    if isinstance(value, Bundle):
        return value
    hint = "build one with maelstrom.Bundle({...}) from a dict of arrays, a pandas.DataFrame or an xarray.Dataset"
    module = type(value).__module__.split(".")[0]
    if module in ("pandas", "xarray") and type(value).__name__ in ("DataFrame", "Dataset"):
        hint = "wrap it: maelstrom.Bundle(value)"
    raise ContractError(f"{what} returned {_describe(value)}{_as_output(name)}, expected a maelstrom.Bundle ({hint})")


def _metrics_bundle(value: Any, what: str, name: str | None = None):
    from maelstrom import Bundle

    if isinstance(value, Bundle):
        return value
    # A plain {name: number} dict is accepted as a convenience, as the node runner accepts an object.
    if isinstance(value, dict) and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value.values()):
        return Bundle({key: float(v) for key, v in value.items()})
    returned, expected = (f"(model, {_describe(value)})", "(model, Bundle)") if name is None else (f"{_describe(value)}{_as_output(name)}", "a Bundle")
    raise ContractError(
        f"{what} returned {returned}, expected {expected} "
        "(metrics as a Bundle, e.g. maelstrom.Bundle({'accuracy': 0.9}), or a dict of numbers)"
    )


def _is_plain(names) -> bool:
    """The one convention of both runners: exactly the name `data` is a plain Bundle, any other set of names a dict."""
    return list(names) == ["data"]


def _read_inputs(inputs: dict, artifact: str):
    from maelstrom import BundleError, read_bundle

    name = None
    try:
        if _is_plain(inputs):
            return read_bundle(inputs["data"])
        bundles = {}
        for name, folder in inputs.items():
            bundles[name] = read_bundle(folder)
        return bundles
    except BundleError as error:
        which = "" if name is None else f" '{name}'"
        raise ContractError(f"cannot read the input bundle{which} of {artifact}: {error}") from None


def _output_bundles(value: Any, outputs: dict, what: str, to_bundle) -> list:
    """[(folder, bundle)] of each output from what the step function returned, checked against the spec's output names."""
    names = list(outputs)
    if _is_plain(names):
        return [(outputs["data"], to_bundle(value, what))]
    expected = f"expected a dict with exactly the outputs {', '.join(names) or '(none)'}, one Bundle each"
    if not isinstance(value, dict):
        raise ContractError(f"{what} returned {_describe(value)}, {expected}")
    has = [str(key) for key in value]
    missing = [n for n in names if n not in has]
    extra = [n for n in has if n not in outputs]
    if missing or extra:
        wrong = "; ".join(part for part in (missing and f"missing: {', '.join(missing)}", extra and f"extra: {', '.join(extra)}") if part)
        raise ContractError(f"{what} returned a dict with {', '.join(has) or 'no names'} ({wrong}), {expected}")
    return [(folder, to_bundle(value[name], what, name)) for name, folder in outputs.items()]


def scalar_metrics(bundle) -> dict[str, float]:
    """The numeric variables of a train's metrics bundle that hold a single value (as runner-support.ts)."""
    metrics = {}
    for name in bundle.variables:
        variable = bundle._variables[name]
        if variable.dtype == "string" or variable.data.size != 1:
            continue
        item = variable.data.reshape(-1)[0]
        value = float(item.view("int64")) if variable.dtype == "datetime64[ns]" else float(item)
        if math.isfinite(value) or math.isnan(value):
            metrics[name] = value
    return metrics


# ---------------------------------------------------------------------------------------------
# Environment


def _stdlib_names() -> frozenset:
    names = getattr(sys, "stdlib_module_names", None)
    if names is not None:
        return frozenset(names)
    import sysconfig  # Python < 3.10: modules under the stdlib folder but not in site-packages

    stdlib = os.path.realpath(sysconfig.get_paths()["stdlib"])
    out = set(sys.builtin_module_names)
    for n, m in list(sys.modules.items()):
        f = getattr(m, "__file__", None)
        if f and os.path.realpath(f).startswith(stdlib) and "-packages" not in f:
            out.add(n)
    return frozenset(out)


_distributions: dict | None = None


def _version_of(name: str, module: Any = None) -> str | None:
    version = getattr(module, "__version__", None) if module is not None else None
    if isinstance(version, (str, int, float, tuple)):
        return ".".join(map(str, version)) if isinstance(version, tuple) else str(version)
    if module is not None and getattr(module, "__file__", None) is None and getattr(module, "__path__", None) is None:
        # Built-in helper modules (numpy's cython_runtime, ...) belong to no distribution; looking
        # them up scans every installed distribution (~45 ms a step).
        return None
    try:
        import importlib.metadata as metadata
    except ImportError:  # Python < 3.8
        return None
    global _distributions
    if _distributions is None:
        try:
            _distributions = metadata.packages_distributions()  # import name -> distributions (3.10+)
        except AttributeError:
            _distributions = {}
    for dist in _distributions.get(name, [name]):
        try:
            return metadata.version(dist)
        except Exception:  # noqa: BLE001 - PackageNotFoundError and broken metadata alike
            continue
    return None


def environment(exclude_folder: str | None = None) -> dict:
    """The interpreter and the versions of every non-stdlib top-level module imported so far
    (except those the interpreter loaded before maelstrom, and the step's own modules)."""
    import maelstrom

    stdlib = _stdlib_names()
    packages = {}
    for name, module in sorted(list(sys.modules.items())):
        if "." in name or name.startswith("_") or name in stdlib or module is None or name.startswith("maelstrom_entry_"):
            continue
        if name in maelstrom._PRELOADED:
            continue  # loaded at interpreter start-up (site, .pth hooks), not by the step
        if exclude_folder is not None and _in_folder(getattr(module, "__file__", None), exclude_folder):
            continue  # the step's own modules
        version = _version_of(name, module)
        if version is not None:
            packages[name] = version
    return {"python": platform.python_version(), "executable": sys.executable, "packages": packages}


def _wall_ms() -> float:
    """Milliseconds since the process started (interpreter start-up and imports included), from
    /proc on Linux; elsewhere since the runner module was loaded."""
    since_load = (time.monotonic() - _STARTED) * 1000
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])  # field 22, starttime
        elapsed = (time.clock_gettime(time.CLOCK_BOOTTIME) - start_ticks / os.sysconf("SC_CLK_TCK")) * 1000
    except (OSError, ValueError, IndexError, AttributeError):
        return since_load
    return elapsed if since_load <= elapsed <= since_load + 60_000 else since_load


def _usage() -> tuple:
    import resource

    return time.monotonic(), resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)


def _resources(since: tuple | None = None) -> dict:
    """The process's resources, or (a worker) those of the step that began at `since` (a _usage())."""
    now = _usage()
    own, children = now[1], now[2]

    def cpu(field: str) -> float:
        # Children the step waited for (multiprocessing pools, subprocesses) count too.
        used = getattr(own, field) + getattr(children, field)
        return (used if since is None else used - getattr(since[1], field) - getattr(since[2], field)) * 1000

    return {
        "wallMs": _wall_ms() if since is None else (now[0] - since[0]) * 1000,
        "userCpuMs": cpu("ru_utime"),
        "systemCpuMs": cpu("ru_stime"),
        # The process's peak (KiB on Linux): a worker's is that of all its steps so far, no per-step peak exists.
        "maxRssBytes": max(own.ru_maxrss, children.ru_maxrss) * 1024,
    }


# ---------------------------------------------------------------------------------------------
# Model state


def _save_model(module, model: Any, state: str, artifact: str, checkout: str) -> None:
    os.makedirs(state, exist_ok=True)
    save = getattr(module, "save", None)
    if callable(save):
        _call(save, (model, state), f"save of {artifact}", "save(model, dir)", checkout)
        return
    path = os.path.join(state, STATE_FILE)
    with open(path, "wb") as f:
        try:  # streamed: a large model is not held twice in memory
            pickle.dump(model, f, protocol=PICKLE_PROTOCOL)
            error = None
        except OSError:
            raise
        except Exception as caught:  # noqa: BLE001 - pickling raises many types (PicklingError, TypeError, AttributeError)
            error = caught
    if error is not None:
        os.remove(path)
        raise ContractError(
            f"the model returned by train of {artifact} cannot be pickled ({_message(error)}); "
            "return picklable objects, or define save(model, dir) and load(dir) in the entry"
        ) from None
    # What wrote the pickle, so that a failure to load it can say what changed.
    with open(os.path.join(state, STATE_ENVIRONMENT_FILE), "w", encoding="utf-8") as f:
        json.dump({**environment(checkout), "pickle_protocol": PICKLE_PROTOCOL}, f, indent=2, sort_keys=True)
        f.write("\n")


def _describe_environment(env: dict, names: list[str]) -> str:
    packages = env.get("packages", {})
    listed = ", ".join(f"{n} {packages[n]}" for n in names if n in packages)
    return f"Python {env.get('python', '?')} ({env.get('executable', '?')})" + (f" with {listed}" if listed else "")


def _load_model(module, state: str, artifact: str, checkout: str) -> Any:
    load = getattr(module, "load", None)
    if callable(load):
        return _call(load, (state,), f"load of {artifact}", "load(dir)", checkout)
    path = os.path.join(state, STATE_FILE)
    if not os.path.isfile(path):
        present = sorted(os.listdir(state)) if os.path.isdir(state) else None
        has = f"it has: {', '.join(present) or 'nothing'}" if present is not None else "the folder does not exist"
        raise _Failure("load", f"no model state for {artifact}: {path} does not exist ({has}); the model is trained by train, or read by load(dir) if the entry defines it")
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except Exception as error:  # noqa: BLE001 - unpickling raises anything (ImportError, AttributeError, ValueError, ...)
        saved = None
        try:
            with open(os.path.join(state, STATE_ENVIRONMENT_FILE), encoding="utf-8") as f:
                saved = json.load(f)
        except (OSError, ValueError):
            pass
        now = environment(checkout)
        if isinstance(saved, dict):
            names = [n for n in saved.get("packages", {}) if n != "maelstrom"]
            for n in names:
                now["packages"].setdefault(n, _version_of(n, sys.modules.get(n)) or "not installed")
            differs = [n for n in names if saved.get("packages", {}).get(n) != now["packages"].get(n)] or names
            then = f"it was saved by {_describe_environment(saved, differs)}; this step runs {_describe_environment(now, differs)}"
        else:
            then = f"this step runs {_describe_environment(now, [n for n in now['packages'] if n != 'maelstrom'])}"
        raise _Failure(
            "load",
            f"cannot load the model state {path}: {_message(error)}; {then}. Retrain the model with this interpreter, or run the step with the one it was trained with",
            None,
            _stack(error),
        ) from None


# ---------------------------------------------------------------------------------------------
# Main


def _read_spec(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            spec = json.load(f)
    except (OSError, ValueError) as error:
        raise ContractError(f"cannot read the step spec {path}: {error}") from None
    if not isinstance(spec, dict):
        raise ContractError(f"the step spec {path} must hold a JSON object")
    checks = {
        "call": lambda v: v in _CALLS,
        "artifact": lambda v: isinstance(v, str),
        "module": lambda v: isinstance(v, str) and v != "",
        "parameters": lambda v: isinstance(v, dict),
        "inputs": lambda v: isinstance(v, dict) and all(isinstance(d, str) and d != "" for d in v.values()),
        "outputs": lambda v: isinstance(v, dict) and all(isinstance(d, str) and d != "" for d in v.values()),
        "state": lambda v: v is None or isinstance(v, str),
    }
    for field, ok in checks.items():
        if not ok(spec.get(field)):
            raise ContractError(f"the step spec {path}: field '{field}' is {json.dumps(spec.get(field))}, which is not valid" + (f" (expected one of {', '.join(_CALLS)})" if field == "call" else ""))
    fused = spec.get("next", [])
    if not isinstance(fused, list) or not all(isinstance(call, dict) for call in fused):
        raise ContractError(f"the step spec {path}: field 'next' is {json.dumps(fused)}, expected a list of fused calls")
    # What a call has besides the spec's own fields (`call` is checked against the chain by _check_chain).
    fused_checks = {
        **{field: ok for field, ok in checks.items() if field not in ("inputs", "outputs")},
        "cwd": lambda v: isinstance(v, str) and v != "",
        "env": lambda v: isinstance(v, dict) and all(isinstance(value, str) for value in v.values()),
    }
    for i, call in enumerate(fused):
        for field, ok in fused_checks.items():
            if not ok(call.get(field)):
                raise ContractError(f"the step spec {path}: field '{field}' of next[{i}] is {json.dumps(call.get(field))}, which is not valid")
    return spec


def _prepare() -> None:
    """Once per process, before the first step."""
    _watch_engine()
    # The checkout is content-addressed and may be read-only: never write __pycache__ into it.
    sys.dont_write_bytecode = True
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    try:
        import numpy  # noqa: F401 - every step moves data through numpy
    except ImportError:
        raise _Failure("load", f"the maelstrom runner needs numpy, which is not installed for {interpreter()}: {install_hint('numpy')}, or choose an interpreter that has it") from None


def _invoke(call: dict, module, data, checkout: str) -> tuple[Any, str, tuple | None]:
    """Calls the function call["call"] names in `module` with `data` (nothing for get): what it
    returned, how messages name the function, and for train (model,)."""
    artifact, kind = call["artifact"], call["call"]
    meta = MetaVariables(call["parameters"], artifact)
    if kind == "get":
        get = _function(module, "get", artifact, "get(meta) -> Bundle")
        return _call(get, (meta,), f"get of {artifact}", "get(meta)", checkout), f"get of {artifact}", None
    if kind == "transform":
        apply = _function(module, "apply", artifact, "apply(bundle, meta) -> Bundle")
        return _call(apply, (data, meta), f"apply of {artifact}", "apply(bundle, meta)", checkout), f"apply of {artifact}", None
    if kind == "train":
        train = _function(module, "train", artifact, "train(bundle, meta) -> (model, Bundle)")
        _function(module, "apply", artifact, "apply(model, bundle) -> Bundle")
        result = _call(train, (data, meta), f"train of {artifact}", "train(bundle, meta)", checkout)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise ContractError(f"train of {artifact} returned {_describe(result)}, expected (model, Bundle)")
        return result[1], f"train of {artifact}", (result[0],)
    apply = _function(module, "apply", artifact, "apply(model, bundle) -> Bundle")
    if call["state"] is None:
        raise ContractError("predict needs a state directory (spec field 'state')")
    model = _load_model(module, call["state"], artifact, checkout)
    return _call(apply, (model, data), f"apply of {artifact}", "apply(model, bundle)", checkout), f"apply of {artifact}", None


def _check_chain(calls: list) -> None:
    """A chain the runner can run: every call but the last hands one Bundle on, so only the last may
    train; a fused call takes the previous call's output, so none of them is a get."""
    for index, call in enumerate(calls):
        if index > 0 and call["call"] == "get":
            wrong = "a get, but a fused call takes the previous call's output"
        elif index < len(calls) - 1 and call["call"] == "train":
            wrong = "a train before the end, but only the last call of a chain may train (its model and metrics are the chain's result)"
        else:
            continue
        events._call_index = index
        raise ContractError(f"the step spec fuses {call['artifact']} as call {index} of a chain of {len(calls)}: it is {wrong}")


def _enter_fused_call(call: dict, checkout: str):
    """A fused call runs where its own step would: in its artifact folder (first on sys.path), with
    its environment variables. Returns what restores the variables."""
    os.chdir(call["cwd"])
    sys.path.insert(0, checkout)
    return _set_env(call["env"])


def _set_env(env: dict):
    """Sets `env` in os.environ; returns what restores the variables it changed."""
    previous = {name: os.environ.get(name) for name in env}
    os.environ.update(env)

    def restore() -> None:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    return restore


def _run_step(spec: dict) -> tuple[dict, str]:
    """Runs one step up to its written outputs: the spec's own call and then, fused, each of
    spec["next"]. Returns its metrics and the checkout folder of the spec's own call."""
    from maelstrom import BundleError, write_bundle

    calls = [spec, *spec.get("next", [])]
    chained = len(calls) > 1
    if chained:
        _check_chain(calls)
    data: Any = None
    metrics: dict[str, float] = {}
    outputs: list = []
    own_checkout = ""
    for index, call in enumerate(calls):
        last = index == len(calls) - 1
        module_path = os.path.abspath(call["module"])
        checkout = os.path.realpath(call["cwd"] if index > 0 else spec.get("checkout") or os.path.dirname(module_path))
        if index == 0:
            own_checkout = checkout
        if chained:
            events._call_index = index
        before, path = set(sys.modules), list(sys.path)
        leave = _enter_fused_call(call, checkout) if index > 0 else None
        try:
            module = _load_module(module_path, checkout)
            if index == 0:
                data = _read_inputs(spec["inputs"], spec["artifact"])
            value, what, trained = _invoke(call, module, data, checkout)
            if not last:
                # Handed on in memory, as the next step would have read it from the bundle written here.
                data = _expect_bundle(value, what)
            else:
                outputs = _output_bundles(value, spec["outputs"], what, _expect_bundle if trained is None else _metrics_bundle)
                if trained is not None:
                    for _folder, bundle in outputs:
                        metrics.update(scalar_metrics(bundle))
                    if call["state"] is None:
                        raise ContractError("train needs a state directory (spec field 'state')")
                    _save_model(module, trained[0], call["state"], call["artifact"], checkout)
        except _Failure as failure:
            # In a chain, the user's own message does not say whose code failed (contract messages name it already).
            if chained:
                failure.message = f"{call['artifact']}: {failure.message}"
            raise
        if leave is not None:
            leave()
        if chained:
            # The next call imports its own code afresh: its `import helpers` must not get this call's.
            _forget_step_code(before, [checkout, os.path.realpath(os.path.dirname(module_path))], path)
    try:
        for folder, bundle in outputs:
            write_bundle(bundle, folder)
    except BundleError as error:
        raise ContractError(f"cannot write the bundle {calls[-1]['call']} of {calls[-1]['artifact']} returned: {error}") from None
    events._call_index = None
    return metrics, own_checkout


def _run(argv: list[str]) -> None:
    if len(argv) != 1:
        raise ContractError("usage: python -m maelstrom.runner SPEC.json | python -m maelstrom.runner --worker")
    spec = _read_spec(argv[0])
    _prepare()
    metrics, checkout = _run_step(spec)
    events.emit({"type": "done", "metrics": metrics, "resources": _resources(), "environment": environment(checkout)})


def _redirect(out: int, err: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - a closed stream must not stop the redirection
            pass
    os.dup2(out, 1)
    os.dup2(err, 2)


def _enter_step(worker: dict, own: tuple[int, int]):
    """Worker mode: the surroundings a one-shot process of this step would have had: its cwd, its
    environment variables, fds 1 and 2 on its log (so processes the step starts write there too).
    Returns what undoes it."""
    os.chdir(worker["cwd"])
    restore_env = _set_env(worker["env"])
    log = os.open(worker["logFile"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    _redirect(log, log)
    os.close(log)

    def leave() -> None:
        _redirect(*own)
        restore_env()

    return leave


def _forget_step_code(before: set, folders: list[str], path: list[str]) -> None:
    """Worker mode and fused chains: the next step imports its own code afresh (its entry, the
    modules next to it), never this step's. The entry keeps its fixed name (maelstrom_entry_<stem>)
    while the step runs, so that a model it pickles unpickles in any later process; it is removed
    here instead. Modules from elsewhere (numpy, pandas) stay imported: that is what a warm worker
    saves."""
    for name in set(sys.modules) - before:
        if name.startswith("maelstrom_entry_") or any(_in_folder(getattr(sys.modules[name], "__file__", None), folder) for folder in folders):
            del sys.modules[name]
    sys.path[:] = path


def _worker_step(spec_file: str, own: tuple[int, int]) -> None:
    since = _usage()
    spec = _read_spec(spec_file)
    worker = spec.get("worker")
    if not isinstance(worker, dict) or not isinstance(worker.get("cwd"), str) or not isinstance(worker.get("env"), dict) or not isinstance(worker.get("logFile"), str):
        raise ContractError(f"the step spec {spec_file}: field 'worker' is {json.dumps(worker)}, expected {{cwd, env, logFile}}")
    leave = _enter_step(worker, own)
    before, path = set(sys.modules), list(sys.path)
    metrics, checkout = _run_step(spec)
    # In a worker, modules earlier steps imported count as imported (the environment is a superset).
    env = environment(checkout)
    _forget_step_code(before, [checkout, os.path.realpath(os.path.dirname(os.path.abspath(spec["module"])))], path)
    leave()
    events.emit({"type": "done", "metrics": metrics, "resources": _resources(since), "environment": env})


def _worker() -> None:
    # Steps get an empty stdin, as in the one-shot mode, and cannot read the commands meant for the worker.
    commands = os.fdopen(os.dup(0), encoding="utf-8")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    # `python -m` put the folder the worker started in first on sys.path: not a folder for steps to import from.
    start = os.getcwd()
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != start]
    own = (os.dup(1), os.dup(2))
    _prepare()
    for line in commands:
        if line.strip():
            _worker_step(line.strip(), own)


def main(argv: list[str] | None = None) -> NoReturn:
    try:
        sys.stdout.reconfigure(line_buffering=True)  # prints reach the log in order with stderr
    except (AttributeError, ValueError):
        pass
    _keep_event_fd_private()
    args = sys.argv[1:] if argv is None else argv
    try:
        if args == ["--worker"]:
            _worker()
        else:
            _run(args)
    except _Failure as failure:
        _fail(failure)
    except ContractError as error:
        _fail(_Failure("contract", str(error)))
    except BaseException as error:  # noqa: BLE001 - never end without an event
        _fail(_Failure("contract", _message(error), None, "".join(traceback.format_exception(type(error), error, error.__traceback__))))
    _exit(0)


if __name__ == "__main__":
    main()
