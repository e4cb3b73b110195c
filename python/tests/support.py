"""Helpers shared by the test modules: temporary folders, the runner as a real child process, node."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import unittest

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(PYTHON_DIR)
CORE_DIST = os.path.join(REPO, "packages", "core", "dist", "index.js")
NODE = shutil.which("node")


def have(module: str) -> bool:
    try:
        __import__(module)
        return True
    except ImportError:
        return False


def node_available() -> bool:
    return NODE is not None and os.path.exists(CORE_DIST)


def require_node(test: unittest.TestCase) -> None:
    """TS interop needs node and the built @maelstrom/core (npx tsc -b); MAELSTROM_REQUIRE_INTEGRATION=1 makes a skip a failure."""
    if node_available():
        return
    reason = f"node and {CORE_DIST} are needed (run `npx tsc -b` in {REPO})"
    if os.environ.get("MAELSTROM_REQUIRE_INTEGRATION") == "1":
        test.fail(f"MAELSTROM_REQUIRE_INTEGRATION=1 but {reason}")
    test.skipTest(reason)


# The TypeScript side of the interoperability checks, run as `node --input-type=module -e TS_SCRIPT CORE MODE ...`:
#   every DIR        write the every-dtype bundle with writeBundle
#   rewrite SRC DST  readBundle(SRC) then writeBundle(DST) (chunkBytes from the next argument when given)
#   dump SRC         print the bundle read from SRC as JSON (bigints and non-finite numbers as strings)
TS_SCRIPT = r"""
import { pathToFileURL } from "node:url";

const [coreFile, mode, a, b, chunk] = process.argv.slice(1);
const core = await import(pathToFileURL(coreFile).href);
const { Bundle, readBundle, writeBundle } = core;

function everyDtype() {
  return Bundle.fromVariables(
    {
      i8: { dims: ["n"], dtype: "int8", data: [-128, 0, 127] },
      i16: { dims: ["n"], dtype: "int16", data: [-32768, 0, 32767] },
      i32: { dims: ["n"], dtype: "int32", data: [-2147483648, 0, 2147483647] },
      i64: { dims: ["n"], data: [-(2n ** 63n), 0n, 2n ** 63n - 1n] },
      u8: { dims: ["n"], dtype: "uint8", data: [0, 1, 255] },
      u16: { dims: ["n"], dtype: "uint16", data: [0, 1, 65535] },
      u32: { dims: ["n"], dtype: "uint32", data: [0, 1, 4294967295] },
      u64: { dims: ["n"], dtype: "uint64", data: [0n, 1n, 2n ** 64n - 1n] },
      f32: { dims: ["n"], dtype: "float32", data: [NaN, -0.5, Infinity] },
      f64: { dims: ["n"], data: [NaN, 1e-300, -Infinity] },
      flag: { dims: ["n"], data: [true, false, true] },
      text: { dims: ["n"], data: ["", "naïve ❄️ 北极", "a\u0000b"] },
      when: { dims: ["n"], dtype: "datetime64[ns]", data: ["1970-01-01", "2262-04-11T23:47:16.854775807", "NaT"] },
      grid: { dims: ["n", "k"], shape: [3, 2], dtype: "float32", data: [1, 2, 3, 4, 5, 6], attrs: { units: "K", scale: 0.1 } },
      scalar: { dims: [], data: [42.5] },
      word: { dims: [], data: ["polar"] },
    },
    {
      coords: {
        n: { dims: ["n"], data: [10, 20, 30] },
        station: { dims: ["n"], data: ["a", "b", "c"] },
        height: { dims: [], data: [2] },
        orphan: { dims: ["q"], data: [1n, 2n] },
      },
      attrs: { title: "every dtype", nan: NaN, inf: [Infinity, -Infinity], deep: { list: [1, "two", null, true, 1e21, 1e-7, 0.1] }, unicode: "Ø ❄️ \u{1F600}\uffff", e: 2.5 },
    },
  );
}

function plain(value) {
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  if (Array.isArray(value)) return value.map(plain);
  if (ArrayBuffer.isView(value)) return Array.from(value, plain);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

if (mode === "every") {
  await writeBundle(everyDtype(), a);
} else if (mode === "rewrite") {
  await writeBundle(await readBundle(a), b, chunk === undefined ? {} : { chunkBytes: Number(chunk) });
} else if (mode === "dump") {
  const bundle = await readBundle(a);
  const out = { variables: bundle.variables, coords: bundle.coords, attrs: plain(bundle.attrs), values: {} };
  for (const name of [...bundle.variables, ...bundle.coords]) {
    const v = bundle.variable(name);
    out.values[name] = { dims: v.dims, shape: v.shape, dtype: v.dtype, data: plain(v.data), attrs: plain(v.attrs) };
  }
  process.stdout.write(JSON.stringify(out));
} else {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
"""


def run_ts(*args: str) -> str:
    """Runs TS_SCRIPT (the TypeScript reader/writer of @maelstrom/core) and returns its stdout."""
    result = subprocess.run([NODE, "--input-type=module", "-e", TS_SCRIPT, CORE_DIST, *args], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise AssertionError(f"node (TS_SCRIPT) {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


class TempDirTest(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.mkdtemp(prefix="maelstrom-py-test-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self._counter = 0

    def fresh(self, name: str = "b") -> str:
        self._counter += 1
        return os.path.join(self.tmp, f"{name}{self._counter}")


def list_files(directory: str) -> list[str]:
    out = []
    for root, _dirs, files in os.walk(directory):
        for f in files:
            out.append(os.path.relpath(os.path.join(root, f), directory))
    return sorted(out)


def read_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


class StepResult:
    def __init__(self, code: int, events: list[dict], stdout: str, stderr: str, raw_events: str):
        self.code, self.events, self.stdout, self.stderr, self.raw_events = code, events, stdout, stderr, raw_events

    def of(self, kind: str) -> list[dict]:
        return [e for e in self.events if e.get("type") == kind]

    @property
    def last(self) -> dict:
        return self.events[-1] if self.events else {}

    def __repr__(self) -> str:
        return f"<StepResult code={self.code} events={self.events}\nstderr:\n{self.stderr}>"


def write_files(folder: str, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = os.path.join(folder, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(text).lstrip("\n"))


def run_step(spec: dict, spec_file: str, *, env: dict | None = None, python: str | None = None, timeout: float = 120) -> StepResult:
    """Runs `python -m maelstrom.runner SPEC.json` as the engine does: its own process group, the
    event pipe on fd 3 (MAELSTROM_EVENT_FD=3), PYTHONPATH naming this package."""
    with open(spec_file, "w", encoding="utf-8") as f:
        json.dump(spec, f, indent=2)
    read_end, write_end = os.pipe()
    child_env = {k: v for k, v in os.environ.items() if k not in ("MAELSTROM_EVENT_FD", "MAELSTROM_ENGINE_PID")}
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in [PYTHON_DIR, os.environ.get("PYTHONPATH")] if p)
    child_env["MAELSTROM_EVENT_FD"] = "3"
    child_env.update(env or {})
    interpreter = python or sys.executable
    # The shell puts the pipe on fd 3 and then becomes the runner (exec), so the runner's parent is this process.
    command = ["/bin/sh", "-c", f'exec "$0" "$@" 3>&{write_end} {write_end}>&-', interpreter, "-m", "maelstrom.runner", spec_file]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env, pass_fds=(write_end,), start_new_session=True)
    os.close(write_end)
    chunks: list[bytes] = []

    def drain() -> None:
        with os.fdopen(read_end, "rb") as pipe:
            for chunk in iter(lambda: pipe.read(65536), b""):
                chunks.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        stdout, stderr = process.communicate()
    reader.join(timeout=10)
    raw = b"".join(chunks).decode("utf-8")
    parsed = [json.loads(line) for line in raw.splitlines() if line.strip()]
    return StepResult(process.returncode, parsed, stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace"), raw)
