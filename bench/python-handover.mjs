// Benchmark 5: hand-over of a 1 GiB float32 bundle between Python and TypeScript.
// Python -> TS: maelstrom.write_bundle (Python) of a (1024, 512, 512) float32 array, then
// readBundle (TypeScript, "@maelstrom/core") of that folder. TS -> Python: writeBundle (TS) of the
// same values, then maelstrom.read_bundle (Python). Each direction's time = write + read, against
// `cp` of a 1 GiB file with the same bytes in the same rounds. Ratio = cp time / (write + read);
// target >= 0.7x. 5 rounds after an uncounted warm-up, medians.
// "Received" = the reading side holds every value in its memory: TS readBundle returns the values
// in a Float32Array; Python read_bundle returns a numpy array, and (timed) one byte of every 4 KiB
// page of it is then read, so that a memory-mapped result would count only once its pages are in
// (read_bundle maps single-chunk arrays; this 16-chunk array it reads into memory). Checked outside
// the timing: every value equal, byte for byte, to what the other side wrote.
// The two sides are long-lived processes (this one and a Python worker it drives over a pipe), so
// process start-up is not in these figures (benchmark 4 measures it).
import { spawn } from "node:child_process";
import { readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { readBundle, writeBundle } from "@maelstrom/core";
import { REPO_DIR, bytesRow, checkTemperature, machineFacts, median, ms, now, ratio, recordSection, rotatingRounds, scratch, settle, sums, table, timeSpawn, temperatureData, TEMPERATURE } from "./lib.mjs";

const { shape: SHAPE, dims: DIMS, count: COUNT, bytes: BYTES } = TEMPERATURE;
const ROUNDS = 5;
const TARGET = 0.7;
const PYTHON = process.env.MAELSTROM_PYTHON || "/usr/bin/python3";

/**
 * The Python side: loads the values from the raw file once (untimed), then on each request writes
 * the bundle or reads one, timing itself; one JSON line in, one JSON line out.
 */
const WORKER = String.raw`import json, os, sys, time
import ctypes, mmap
import numpy as np
import maelstrom

libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
MAP_FIXED = 0x10  # Linux

T = time.perf_counter
source = None
bundle = None

def mapped(array):
    while array is not None:
        if isinstance(array, np.memmap):
            return True
        array = array.base if isinstance(array, np.ndarray) else None
    return False

for line in sys.stdin:
    request = json.loads(line)
    op = request["op"]
    if op == "load":
        source = np.fromfile(request["raw"], dtype="<f4").reshape(request["shape"])
        bundle = maelstrom.Bundle({"temperature": (tuple(request["dims"]), source, {"units": "degC"})}, {"title": "bench-python-handover"})
        reply = {"ok": True, "python": sys.version.split()[0], "numpy": np.__version__}
    elif op == "write":
        started = T()
        maelstrom.write_bundle(bundle, request["dir"])
        reply = {"writeMs": (T() - started) * 1000}
    elif op == "read":
        started = T()
        back = maelstrom.read_bundle(request["dir"])
        values = back.variable("temperature").data
        read = T()
        # One byte of every 4 KiB page: a mapped result is then in memory too.
        touched = int(values.reshape(-1).view(np.uint8)[::4096].max())
        done = T()
        v = back.variable("temperature")
        equal = v.dtype == "float32" and tuple(v.dims) == tuple(request["dims"]) and tuple(v.shape) == tuple(request["shape"]) and np.array_equal(values.view(np.uint32), source.view(np.uint32))
        reply = {"readMs": (read - started) * 1000, "touchMs": (done - read) * 1000, "equal": bool(equal), "mapped": mapped(values), "touched": touched}
        del back, values, v
    elif op == "readmapped":
        # Prototype, not Maelstrom's code: the chunk files (whole C-order runs of the array, page
        # multiples) mapped one after another into one reserved region, so one numpy array views them all.
        started = T()
        count, chunk_bytes, files = request["count"], request["chunkBytes"], request["files"]
        base = libc.mmap(None, chunk_bytes * len(files), 0, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
        for i, path in enumerate(files):
            fd = os.open(path, os.O_RDONLY)
            at = libc.mmap(base + i * chunk_bytes, chunk_bytes, mmap.PROT_READ, mmap.MAP_SHARED | MAP_FIXED, fd, 0)
            os.close(fd)
            if at != base + i * chunk_bytes:
                raise OSError(ctypes.get_errno(), "mmap MAP_FIXED failed")
        values = np.ctypeslib.as_array((ctypes.c_float * count).from_address(base)).reshape(request["shape"])
        read = T()
        touched = int(values.reshape(-1).view(np.uint8)[::4096].max())
        done = T()
        equal = np.array_equal(values.view(np.uint32), source.view(np.uint32))
        del values
        libc.munmap(base, chunk_bytes * len(files))
        reply = {"readMs": (read - started) * 1000, "touchMs": (done - read) * 1000, "equal": bool(equal)}
    else:
        break
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()
`;

function startWorker(dir) {
  const script = join(dir, "worker.py");
  writeFileSync(script, WORKER);
  const child = spawn(PYTHON, ["-u", script], {
    cwd: REPO_DIR,
    env: { ...process.env, PYTHONPATH: [join(REPO_DIR, "python"), process.env.PYTHONPATH].filter(Boolean).join(":") },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const waiting = [];
  createInterface({ input: child.stdout }).on("line", (line) => waiting.shift()?.resolve(line));
  child.on("close", (code) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`the Python worker exited with ${code}: ${stderr.trim().slice(-1000)}`));
  });
  return {
    request(message) {
      return new Promise((resolve, reject) => {
        waiting.push({ resolve: (line) => resolve(JSON.parse(line)), reject });
        child.stdin.write(`${JSON.stringify(message)}\n`);
      });
    },
    close() {
      child.stdin.end();
      return new Promise((resolve) => (child.exitCode !== null ? resolve() : child.on("close", resolve)));
    },
  };
}

/** What Python wrote, read by TS: dtype, dims, shape and every byte equal to the values sent. */
function check(bundle, original) {
  checkTemperature(bundle, original, { shape: SHAPE, dims: DIMS, differs: "the bundle Python wrote, read by TypeScript, differs from the values sent" });
}

async function main() {
  const facts = machineFacts();
  const dir = scratch("python-handover");
  console.log(`python-handover: 1 GiB float32 [${SHAPE.join(", ")}] between ${PYTHON} and node, in ${dir}`);
  const { data, bundle, raw, copy } = await temperatureData(dir, { shape: SHAPE, dims: DIMS, title: "bench-python-handover" });
  const worker = startWorker(dir);
  const t = { pyWrite: [], tsRead: [], tsWrite: [], pyRead: [], pyTouch: [], pyMapped: [], cp: [] };
  let versions;
  let pyMapped = false;
  try {
    // Python holds the same values: loaded from the bytes this process wrote.
    versions = await worker.request({ op: "load", raw, shape: SHAPE, dims: DIMS });
    // Warm: the sender's values are in its memory, cp's source file in the page cache (read just
    // before); everything writes into the page cache without fsync; `sync` and a GC of this
    // process (untimed) before each measured command. The groups run in a different order each round.
    await rotatingRounds(ROUNDS, raw, (keep, round) => [
      async () => {
        const out = join(dir, `py-to-ts-${round}`);
        settle();
        keep(t.pyWrite, (await worker.request({ op: "write", dir: out })).writeMs);
        settle();
        const started = now();
        const back = await readBundle(out);
        keep(t.tsRead, now() - started);
        check(back, data);
        rmSync(out, { recursive: true, force: true });
      },
      async () => {
        const out = join(dir, `ts-to-py-${round}`);
        settle();
        const started = now();
        await writeBundle(bundle, out);
        keep(t.tsWrite, now() - started);
        settle();
        const reply = await worker.request({ op: "read", dir: out, shape: SHAPE, dims: DIMS });
        if (!reply.equal) throw new Error("the bundle TypeScript wrote, read by Python, differs from the values sent");
        pyMapped ||= reply.mapped;
        keep(t.pyRead, reply.readMs + reply.touchMs);
        keep(t.pyTouch, reply.touchMs);
        // The prototype reader, on the same folder (its pages are in the page cache either way).
        const files = readdirSync(join(out, "temperature")).filter((f) => !f.startsWith(".")).sort((a, b) => parseInt(a) - parseInt(b));
        const chunkBytes = statSync(join(out, "temperature", files[0])).size;
        if (chunkBytes * files.length === BYTES && chunkBytes % 4096 === 0) {
          settle();
          const mapped = await worker.request({ op: "readmapped", count: COUNT, shape: SHAPE, chunkBytes, files: files.map((f) => join(out, "temperature", f)) });
          if (!mapped.equal) throw new Error("the prototype mapped read differs from the values sent");
          keep(t.pyMapped, mapped.readMs + mapped.touchMs);
        }
        rmSync(out, { recursive: true, force: true });
      },
      async () => {
        settle();
        keep(t.cp, await timeSpawn("cp", [raw, copy]));
        rmSync(copy, { force: true });
      },
    ]);
  } finally {
    await worker.close();
    rmSync(dir, { recursive: true, force: true });
  }

  const pyToTs = sums(t.pyWrite, t.tsRead);
  const tsToPy = sums(t.tsWrite, t.pyRead);
  const cp = median(t.cp);
  const ratioPyToTs = cp / median(pyToTs);
  const ratioTsToPy = cp / median(tsToPy);
  const verdict = (value) => `**${ratio(value)}** (target >= ${TARGET}x: **${value >= TARGET ? "MET" : "MISSED"}**)`;
  const fastest = (values) => Math.min(...t.cp) / Math.min(...values);
  const summary = table(
    ["Measure", "Value"],
    [
      ["**Python → TS, ratio** = cp time / (Python write_bundle + TS readBundle), medians over rounds", verdict(ratioPyToTs)],
      ["**TS → Python, ratio** = cp time / (TS writeBundle + Python read_bundle and page touch)", verdict(ratioTsToPy)],
      ["Same two from the fastest round of each (closest to an idle machine)", `${ratio(fastest(pyToTs))} / ${ratio(fastest(tsToPy))}`],
      ["References, from the halves in the same rounds: TS → TS (TS write + TS read), Python → Python (Python write + Python read)", `${ratio(cp / median(sums(t.tsWrite, t.tsRead)))} / ${ratio(cp / median(sums(t.pyWrite, t.pyRead)))}`],
      ...(t.pyMapped.length === 0
        ? []
        : [["TS → Python with a prototype Python reader that maps the 16 chunk files into one contiguous array (not Maelstrom's code; see the last row)", ratio(cp / median(sums(t.tsWrite, t.pyMapped)))]]),
      ["Received = every value in the reader's memory, then checked byte for byte (outside the timing), both directions", "yes, all rounds"],
      ["Python's read_bundle result memory-mapped (else read into one numpy array)", pyMapped ? "mapped" : "read into memory (16 chunks of 64 MiB, readinto)"],
      ["Interpreter", `${PYTHON} (Python ${versions?.python}, numpy ${versions?.numpy})`],
    ],
  );
  const row = (label, values) => bytesRow(BYTES, label, values);
  // Parts too short for seconds: in ms, no throughput.
  const rowMs = (label, values) => [label, ms(median(values)), "", [...values].sort((a, b) => a - b).map((v) => v.toFixed(1)).join(" / ") + " (ms)"];
  const results = table(
    [`1 GiB float32 [${SHAPE.join(", ")}] (median of ${ROUNDS})`, "Time", "Throughput", "All rounds (s)"],
    [
      row("**Python → TS: write + read**", pyToTs),
      row("- Python `maelstrom.write_bundle` (1 GiB numpy array into a fresh folder)", t.pyWrite),
      row("- TS `readBundle` (into a Float32Array)", t.tsRead),
      row("**TS → Python: write + read**", tsToPy),
      row("- TS `writeBundle` (1 GiB Float32Array into a fresh folder)", t.tsWrite),
      row("- Python `maelstrom.read_bundle` + touching one byte per 4 KiB page", t.pyRead),
      rowMs("  - of which the page touch", t.pyTouch),
      row("`cp raw.bin copy.bin` (peer), source in the page cache", t.cp),
      ...(t.pyMapped.length === 0
        ? []
        : [rowMs("Prototype Python reader: the 16 chunk files mmap'ed (MAP_FIXED) one after another into one reserved region, one numpy array over it, + the page touch", t.pyMapped)]),
    ],
  );
  const method = [
    `- Method: one float32 variable of ${COUNT.toLocaleString("en-US")} elements on dims [${DIMS.join(", ")}] = [${SHAPE.join(", ")}], the same values on both sides`,
    "  (node builds them and writes them to a raw file; a long-lived Python worker loads that file once, untimed, and drives `maelstrom.write_bundle` /",
    "  `maelstrom.read_bundle` on request, timing itself with `time.perf_counter`). Python → TS: the worker's `write_bundle` of a `maelstrom.Bundle`",
    "  holding the array, then `readBundle` in node. TS → Python: `writeBundle` of a `Bundle.fromVariables` in node, then the worker's `read_bundle`.",
    "  Received = the reader holds every value in its own memory: TS readBundle returns them in a Float32Array; after Python's read_bundle, one byte of",
    "  every 4 KiB page of the returned array is read (timed), so that a memory-mapped result would also count only once its pages are in.",
    "  Each read is checked outside the timing: dtype, dims, shape and every byte equal to the values sent (stronger than a checksum).",
    "  Each direction's time = its write + its read, the same round's; ratio = cp time / that, medians over rounds. Python process start-up is not included",
    "  (benchmark 4 measures it); pipe messages between node and the worker are outside the timed calls.",
    `  Peer: \`cp\` of a 1 GiB file with the same bytes, in the same rounds. ${ROUNDS} rounds after an uncounted warm-up round.`,
    "  Warm page cache, as in benchmark 3: the writer's values are in its memory, cp's source file is in the page cache; everything writes into the page cache",
    "  without fsync; `sync` and a full GC of node (untimed) before each measured command; the order of the two directions and cp rotates each round.",
    "  The prototype row (TS → Python only) reads the same folder right after the real read with a reader this benchmark defines in the worker:",
    "  each 64 MiB chunk file mmap'ed read-only (MAP_SHARED | MAP_FIXED, via ctypes) at consecutive offsets of one reserved 1 GiB region, one numpy array",
    "  over the region, then the same page touch and check: what a mapping read_bundle would give, not what Maelstrom runs.",
  ].join("\n");
  console.log(`\n### Hand-over of a 1 GiB float32 bundle between Python and TypeScript\n\n${summary}\n\n${results}\n`);
  recordSection("python-handover", { facts, script: "python-handover.mjs", method: [method], parts: [summary, results] });
}

await main();
