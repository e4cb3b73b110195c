import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { InputError } from "@maelstrom/errors";

/**
 * The top-level modules a Python file imports (`import a.b`, `from c import d`), without relative
 * imports, the step's own modules (`local`) and maelstrom (which the engine provides).
 */
export function pythonImports(source: string, local: ReadonlySet<string>): string[] {
  const names = new Set<string>();
  for (const match of source.matchAll(/^(?:import\s+([\w., \t]+)|from\s+(\w[\w.]*)\s+import\b)/gm)) {
    const list = match[1] ?? match[2] ?? "";
    for (const part of list.split(",")) {
      const name = part.trim().split(/\s+/)[0]?.split(".")[0] ?? "";
      if (/^\w+$/.test(name) && name !== "maelstrom" && !local.has(name)) names.add(name);
    }
  }
  return [...names].sort();
}

/** An interpreter someone asked for, and where the request came from (for error messages). */
export interface RequestedPython {
  readonly path: string;
  readonly source: string;
}

/** Interpreters tried when nobody chose one: the first that imports numpy wins. */
const DEFAULT_CANDIDATES = ["python3", "/usr/bin/python3", "python"];

const probed = new Map<string, string | null>();

/** Whether `interpreter` runs and imports numpy and `modules`; null if so, else why not. Cached per process. */
function probe(interpreter: string, modules: readonly string[] = []): string | null {
  const imports = ["numpy", ...modules].join(", ");
  const key = `${interpreter}\0${imports}`;
  const known = probed.get(key);
  if (known !== undefined) return known;
  const result = spawnSync(interpreter, ["-c", `import ${imports}`], { encoding: "utf8", timeout: 30_000 });
  const code = (result.error as NodeJS.ErrnoException | undefined)?.code;
  const problem =
    result.error !== undefined
      ? code === "ENOENT"
        ? "it was not found"
        : `cannot run it (${code ?? result.error.message})`
      : result.status === 0
        ? null
        : /No module named '?([\w.]+)/.test(result.stderr)
          ? `${/No module named '?([\w.]+)/.exec(result.stderr)?.[1] ?? "numpy"} is not installed there`
          : `it failed: ${result.stderr.trim().split("\n").map((l) => l.trim()).filter(Boolean).slice(-3).join(" ")}`;
  probed.set(key, problem);
  return problem;
}

/**
 * The Python interpreter for a step: the first of `requested` (manifest field `python`,
 * MAELSTROM_PYTHON), which must work; else the first default candidate that imports numpy and
 * the step's own top-level imports (`modules`), else the first that imports numpy (the step
 * then fails with the name of the missing package).
 */
export function choosePython(requested: readonly RequestedPython[], artifact: string, modules: readonly string[] = []): string {
  const chosen = requested[0];
  if (chosen !== undefined) {
    if (chosen.path.includes("/") && !existsSync(chosen.path)) {
      throw new InputError(`the Python interpreter ${chosen.path} (from ${chosen.source}) does not exist`, {
        details: { artifact, interpreter: chosen.path, source: chosen.source },
      });
    }
    const problem = probe(chosen.path);
    if (problem !== null) {
      const hint = problem.endsWith("is not installed there") ? "; install numpy for it (Debian: apt-get install python3-numpy; a venv: pip install numpy)" : "";
      throw new InputError(
        `the Python interpreter ${chosen.path} (from ${chosen.source}) cannot run the steps of ${artifact}: ${problem}${hint}`,
        { details: { artifact, interpreter: chosen.path, source: chosen.source } },
      );
    }
    return chosen.path;
  }
  if (modules.length > 0) {
    const complete = DEFAULT_CANDIDATES.find((candidate) => probe(candidate, modules) === null);
    if (complete !== undefined) return complete;
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
