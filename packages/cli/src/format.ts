import type { RunPreview, SweepResult } from "@maelstrom/engine";

/** Plain-text formatting for the terminal: aligned tables, sizes, durations, short digests. */

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 59_950) return `${(ms / 1000).toFixed(1)}s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)}m${seconds % 60}s`;
}

export function shortDigest(digest: string | null | undefined): string {
  return digest === null || digest === undefined ? "-" : digest.slice(0, 19);
}

export function when(ms: number | null): string {
  return ms === null ? "-" : new Date(ms).toISOString().replace("T", " ").slice(0, 19);
}

/** Metrics go through JSON, where NaN becomes null. */
export function metricValue(value: number | null): string {
  if (value === null || Number.isNaN(value)) return "NaN";
  return Number.isInteger(value) || !Number.isFinite(value) ? String(value) : value.toPrecision(4);
}

/** The plan as a table: each step, what feeds it, and whether it runs (and why). */
export function formatPlan(
  preview: Pick<RunPreview, "decisions" | "pruned"> & { readonly plan: Pick<RunPreview["plan"], "steps" | "kind"> },
  options: { readonly listCachedUpTo?: number } = {},
): string {
  const { plan, pruned } = preview;
  // Before a big run, thousands of cached lines would bury the steps that run: those are counted.
  const limit = options.listCachedUpTo ?? Infinity;
  const cachedCount = preview.decisions.filter((d) => d.action === "cached").length;
  const decisions = cachedCount > limit ? preview.decisions.filter((d) => d.action === "run") : preview.decisions;
  const toRun = preview.decisions.length - cachedCount;
  const header = `plan${plan.kind === "apply" ? " (apply)" : ""}: ${plan.steps.length} ${plan.steps.length === 1 ? "step" : "steps"}, ${toRun} to run, ${cachedCount} cached${pruned.length === 0 ? "" : `, ${pruned.length} not needed`}`;
  const inputsOf = new Map(
    plan.steps.map((s) => [
      s.id,
      Object.entries(s.inputs)
        .map(([name, source]) => `${name === "data" ? "" : `${name}=`}${source.type === "bundle" ? "data" : `${source.step}${source.output === "data" ? "" : `.${source.output}`}`}`)
        .join(", ") || "-",
    ]),
  );
  const rows = [
    // Where a cached step would have run does not matter: it does not run.
    ...decisions.map((d) => [d.id, d.artifact, inputsOf.get(d.id) ?? "-", d.action === "run" ? "to run" : "cached", d.action === "run" ? d.executor : "-", d.reason]),
    ...pruned.map((p) => [p.id, p.artifact, "-", "not needed", "-", p.reason]),
  ];
  const omitted = decisions === preview.decisions ? "" : `\n(${cachedCount} cached steps not listed; maelstrom plan lists them)`;
  return rows.length === 0 ? `${header}${omitted}` : `${header}\n${table(["STEP", "ARTIFACT", "INPUTS", "STATUS", "EXECUTOR", "WHY"], rows)}${omitted}`;
}

/** A sweep's branches: swept values, one column per model and metric ("rmse", or "forest rmse" when several models report), `*` on the selected one. */
export function sweepTable(sweep: SweepResult): string {
  const names = Object.keys(sweep.branches[0]?.values ?? {});
  const models = [...new Set(sweep.branches.flatMap((b) => Object.keys(b.metrics)))];
  const columns = models.flatMap((model) => [...new Set(sweep.branches.flatMap((b) => Object.keys(b.metrics[model] ?? {})))].map((metric) => ({ model, metric })));
  return table(
    ["", ...names, ...columns.map((c) => (models.length === 1 ? c.metric : `${c.model} ${c.metric}`))],
    sweep.branches.map((b, i) => [
      i === sweep.selected ? "*" : "",
      ...names.map((n) => String(b.values[n])),
      ...columns.map((c) => metricValue(b.metrics[c.model]?.[c.metric] ?? null)),
    ]),
  );
}
