import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { InputError } from "@maelstrom/errors";

/** An interpreter someone asked for, and where the request came from (for error messages). */
export interface RequestedPython {
  readonly path: string;
  readonly source: string;
}

/** Interpreters tried when nobody chose one: the first that imports numpy wins. */
const DEFAULT_CANDIDATES = ["python3", "/usr/bin/python3", "python"];

const probed = new Map<string, string | null>();

/** Whether `interpreter` runs and imports numpy; null if so, else why not. Cached per process. */
function probe(interpreter: string): string | null {
  const known = probed.get(interpreter);
  if (known !== undefined) return known;
  const result = spawnSync(interpreter, ["-c", "import numpy"], { encoding: "utf8", timeout: 30_000 });
  const problem =
    result.error !== undefined
      ? `cannot run it (${(result.error as NodeJS.ErrnoException).code ?? result.error.message})`
      : result.status === 0
        ? null
        : /No module named/.test(result.stderr)
          ? "numpy is not installed there"
          : `it failed: ${result.stderr.trim().split("\n").at(-1) ?? ""}`;
  probed.set(interpreter, problem);
  return problem;
}

/**
 * The Python interpreter for a step: the first of `requested` (manifest field `python`,
 * MAELSTROM_PYTHON), which must work; else the first default candidate that imports numpy.
 */
export function choosePython(requested: readonly RequestedPython[], artifact: string): string {
  const chosen = requested[0];
  if (chosen !== undefined) {
    if (chosen.path.includes("/") && !existsSync(chosen.path)) {
      throw new InputError(`the Python interpreter ${chosen.path} (from ${chosen.source}) does not exist`, {
        details: { artifact, interpreter: chosen.path, source: chosen.source },
      });
    }
    const problem = probe(chosen.path);
    if (problem !== null) {
      throw new InputError(
        `the Python interpreter ${chosen.path} (from ${chosen.source}) cannot run the steps of ${artifact}: ${problem}; install numpy for it (Debian: apt-get install python3-numpy; a venv: pip install numpy)`,
        { details: { artifact, interpreter: chosen.path, source: chosen.source } },
      );
    }
    return chosen.path;
  }
  const tried: string[] = [];
  for (const candidate of DEFAULT_CANDIDATES) {
    const problem = probe(candidate);
    if (problem === null) return candidate;
    tried.push(`${candidate}: ${problem}`);
  }
  throw new InputError(
    `no Python interpreter with numpy found for ${artifact}; tried ${tried.join("; ")}. Install numpy (Debian: apt-get install python3-numpy) or choose an interpreter with MAELSTROM_PYTHON or the manifest field 'python'`,
    { details: { artifact, tried } },
  );
}
