import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import type { ParameterValue, PythonEnvironment, StepResourceUsage } from "@maelstrom/core";
import { nodeBuildIdentity } from "@maelstrom/runtime";
import { fromJsonColumn, toJsonColumn, type Digest } from "@maelstrom/store";
import type { EngineContext } from "./context.js";
import { nearestLockfile } from "./environment.js";
import type { PlannedStep } from "./records.js";
import { storedResources } from "./accounting.js";

/** What a step's cache key is computed from (DESIGN.md decision 8); kept to explain changes. */
export interface CacheKeyParts {
  readonly call: PlannedStep["call"];
  readonly artifact: Digest;
  readonly parameters: Readonly<Record<string, ParameterValue>>;
  readonly inputs: Readonly<Record<string, Digest>>;
  readonly state: Digest | null;
  readonly outputs: readonly string[];
  readonly runtime: string;
}

/** The results of a finished step, as the cache keeps them. */
export interface StepResult {
  readonly outputs: Readonly<Record<string, Digest>>;
  readonly stateDigest: Digest | null;
  readonly metrics: Readonly<Record<string, number>>;
  readonly resources: StepResourceUsage;
  readonly environment: PythonEnvironment | null;
}

export interface CacheEntry extends StepResult {
  readonly key: string;
  readonly runId: string;
  readonly stepId: string;
  readonly parts: CacheKeyParts;
}

/** JSON with sorted keys, so that equal values hash equally whatever their insertion order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export function cacheKey(parts: CacheKeyParts): string {
  return `sha256:${createHash("sha256").update(canonical(parts)).digest("hex")}`;
}

/**
 * The part of the runtime that can change a step's result without its code changing: for node
 * steps the bundler and the npm lockfile (dependencies are bundled in), for python the interpreter.
 */
function runtimeIdentity(step: PlannedStep): string {
  switch (step.artifact.runtime) {
    case "node":
      return `node ${nodeBuildIdentity} ${nearestLockfile(step.artifact.sourcePath)?.digest ?? "no lockfile"}`;
    case "python":
      return `python ${resolvedExecutable(step.interpreter ?? "?")}`;
    case "shell":
      return "shell /bin/sh";
  }
}

const executables = new Map<string, string>();

/**
 * The absolute path of an interpreter named on the PATH: which `python3` ran is what matters. Links
 * are not followed: a virtual environment's python links to its base interpreter, but has its own
 * packages.
 */
export function resolvedExecutable(name: string): string {
  let found = executables.get(name);
  if (found === undefined) {
    const candidates = name.includes("/") ? [resolve(name)] : (process.env["PATH"] ?? "").split(delimiter).map((dir) => join(dir, name));
    found = candidates.find((candidate) => existsSync(candidate)) ?? name;
    executables.set(name, found);
  }
  return found;
}

export function keyParts(step: PlannedStep, inputs: Readonly<Record<string, Digest>>): CacheKeyParts {
  return {
    call: step.call,
    artifact: step.artifact.digest,
    parameters: step.parameters,
    inputs,
    state: step.stateDigest,
    outputs: Object.keys(step.provides).sort(),
    runtime: runtimeIdentity(step),
  };
}

type CacheRow = {
  key: string;
  step_id: string;
  run_id: string;
  outputs: string;
  state_digest: string | null;
  metrics: string;
  resources: string;
  environment: string | null;
  components: string;
};

function entryOf(row: CacheRow): CacheEntry {
  return {
    key: row.key,
    runId: row.run_id,
    stepId: row.step_id,
    outputs: fromJsonColumn(row.outputs),
    stateDigest: row.state_digest as Digest | null,
    metrics: fromJsonColumn(row.metrics),
    resources: storedResources(fromJsonColumn(row.resources)),
    environment: row.environment === null ? null : fromJsonColumn(row.environment),
    parts: fromJsonColumn(row.components),
  };
}

const CACHE_COLUMNS = ["key", "step_id", "run_id", "outputs", "state_digest", "metrics", "resources", "environment", "components"] as const;

/**
 * Whether every object of a cache entry is still in the store (gc or a damaged store may have lost
 * some). A synchronous stat: thousands of these decide a plan, and the thread pool's round trip
 * costs more than the call.
 */
function complete(ctx: EngineContext, entry: CacheEntry): boolean {
  const digests = [...Object.values(entry.outputs), ...(entry.stateDigest === null ? [] : [entry.stateDigest])];
  return digests.every((digest) => existsSync(ctx.objects.pathOf(digest)));
}

/** A cache entry whose objects are all still in the store. */
export async function findCached(ctx: EngineContext, key: string): Promise<CacheEntry | null> {
  const row = await ctx.db.selectFrom("step_cache").select(CACHE_COLUMNS).where("key", "=", key).executeTakeFirst();
  if (row === undefined) return null;
  const entry = entryOf(row);
  return complete(ctx, entry) ? entry : null;
}

const IDS_PER_QUERY = 400;

/**
 * The cache entries of a plan's steps, read in a few queries rather than one per step (a plan of
 * thousands of steps is decided in milliseconds): by key, and the latest per step to explain changes.
 */
export async function loadCache(ctx: EngineContext, steps: readonly PlannedStep[]): Promise<{ find(key: string): Promise<CacheEntry | null>; previous(step: PlannedStep): CacheEntry | null }> {
  const byKey = new Map<string, CacheEntry>();
  const latest = new Map<string, CacheEntry & { createdAt: number }>();
  const ids = [...new Set(steps.map((s) => s.id))];
  for (let i = 0; i < ids.length; i += IDS_PER_QUERY) {
    const rows = await ctx.db
      .selectFrom("step_cache")
      .select([...CACHE_COLUMNS, "artifact_name", "created_at"])
      .where("step_id", "in", ids.slice(i, i + IDS_PER_QUERY))
      .execute();
    for (const row of rows) {
      const entry = { ...entryOf(row), createdAt: Number(row.created_at) };
      byKey.set(entry.key, entry);
      const same = `${row.step_id}\u0000${row.artifact_name}`;
      if ((latest.get(same)?.createdAt ?? -1) <= entry.createdAt) latest.set(same, entry);
    }
  }
  return {
    // Entries made under another step id (the same work under another name) are looked up one by one.
    find: async (key) => {
      const entry = byKey.get(key);
      if (entry === undefined) return findCached(ctx, key);
      return complete(ctx, entry) ? entry : null;
    },
    previous: (step) => latest.get(`${step.id}\u0000${step.artifact.name}`) ?? null,
  };
}

type CacheWriter = Pick<EngineContext["db"], "insertInto">;

export async function insertCacheEntry(db: CacheWriter, step: PlannedStep, runId: string, key: string, parts: CacheKeyParts, result: StepResult): Promise<void> {
  const now = Date.now();
  await db
    .insertInto("step_cache")
    .values({
      key,
      step_id: step.id,
      artifact_name: step.artifact.name,
      run_id: runId,
      outputs: toJsonColumn(result.outputs),
      state_digest: result.stateDigest,
      metrics: toJsonColumn(result.metrics),
      resources: toJsonColumn(result.resources),
      environment: result.environment === null ? null : toJsonColumn(result.environment),
      components: toJsonColumn(parts),
      created_at: now,
      used_at: now,
    })
    // The newest result of a key wins: a step run again (--rerun, --no-cache) may have read changed
    // data from outside; for deterministic steps both results are equal anyway.
    .onConflict((oc) =>
      oc.column("key").doUpdateSet({
        run_id: runId,
        step_id: step.id,
        outputs: toJsonColumn(result.outputs),
        state_digest: result.stateDigest,
        metrics: toJsonColumn(result.metrics),
        resources: toJsonColumn(result.resources),
        environment: result.environment === null ? null : toJsonColumn(result.environment),
        created_at: now,
        used_at: now,
      }),
    )
    .execute();
}

const short = (digest: string): string => `${digest.slice(0, 15)}…`;
const show = (value: ParameterValue | undefined): string => (value === undefined ? "(unset)" : JSON.stringify(value));

/** Why a step whose key is not in the cache must run, compared with its latest earlier execution. */
export function explainChange(step: PlannedStep, now: CacheKeyParts, before: CacheKeyParts | null): string {
  if (before === null) return "never run before";
  const reasons: string[] = [];
  if (now.artifact !== before.artifact) reasons.push(`code of ${step.artifact.name} changed (${short(before.artifact)} -> ${short(now.artifact)})`);
  const names = [...new Set([...Object.keys(now.parameters), ...Object.keys(before.parameters)])].sort();
  for (const name of names) {
    const [a, b] = [before.parameters[name], now.parameters[name]];
    if (show(a) !== show(b)) reasons.push(`parameter ${name} changed: ${show(a)} -> ${show(b)}`);
  }
  const inputs = [...new Set([...Object.keys(now.inputs), ...Object.keys(before.inputs)])].sort();
  for (const name of inputs) {
    if (now.inputs[name] !== before.inputs[name]) reasons.push(`input '${name}' changed (${short(before.inputs[name] ?? "none")} -> ${short(now.inputs[name] ?? "none")})`);
  }
  if (now.state !== before.state) reasons.push("the model state changed");
  if (now.runtime !== before.runtime) reasons.push(`runtime changed (${before.runtime} -> ${now.runtime})`);
  if (now.call !== before.call) reasons.push(`called as ${now.call} instead of ${before.call}`);
  if (canonical(now.outputs) !== canonical(before.outputs)) reasons.push("its declared outputs changed");
  return reasons.length === 0 ? "its earlier results are no longer in the store" : reasons.join("; ");
}
