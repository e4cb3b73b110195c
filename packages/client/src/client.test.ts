import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Client } from "./index.js";

const root = mkdtempSync(join(tmpdir(), "maelstrom-client-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function artifact(name: string, files: Record<string, string>): string {
  const dir = join(root, "src", name);
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return dir;
}

const dataset = artifact("dataset", {
  "maelstrom.yaml": "kind: dataset\nname: sst\nruntime: node\nentry: get.ts\n",
  "get.ts": `import { Bundle } from "@maelstrom/sdk";
export function get() {
  const day = Float64Array.from({ length: 30 }, (_, i) => i);
  return Bundle.fromTable({ day, sst: day.map((d) => 12 + 0.1 * d) });
}
`,
});
const transform = artifact("transform", {
  "maelstrom.yaml": "kind: transform\nname: anomaly\nruntime: node\nentry: t.ts\nparameters:\n  base: { type: float, default: 12 }\n",
  "t.ts": `import { Bundle, type MetaVariables } from "@maelstrom/sdk";
export function apply(bundle: Bundle, meta: MetaVariables) {
  const sst = bundle.variable("sst").data as Float64Array;
  return bundle.with({ anomaly: { dims: ["row"], data: sst.map((v) => v - meta.get<number>("base")) } });
}
`,
});
const model = artifact("model", {
  "maelstrom.yaml": "kind: model\nname: mean-anomaly\nruntime: node\nentry: m.ts\n",
  "m.ts": `import { Bundle } from "@maelstrom/sdk";
export function train(bundle: Bundle) {
  const a = bundle.variable("anomaly").data as Float64Array;
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  return [{ mean }, Bundle.fromVariables({ mean: { dims: [], data: [mean] } })];
}
export function apply(model: { mean: number }, bundle: Bundle) {
  const a = bundle.variable("anomaly").data as Float64Array;
  return Bundle.fromTable({ above: Array.from(a, (v) => v > model.mean) });
}
`,
});

describe("Client (embedded)", () => {
  it("runs the seed workflow with await using", async () => {
    let sessionId = "";
    {
      await using client = await Client.open({ workspace: join(root, "ws") });
      const data = await client.addArtifact(dataset);
      const t = await client.addArtifact(transform);
      const m = await client.addArtifact(model);
      await using session = await client.enterSession();
      sessionId = session.id;
      const { model: trained, stats } = await session.train([t, m], { data, parameters: { base: 13 } });
      expect(trained.ref).toBe("mean-anomaly/1");
      expect(stats.metrics["mean"]).toBeCloseTo(0.45);
      const inference = await session.apply(trained, { data });
      const above = (await inference.bundle()).variable("above");
      expect(above.dtype).toBe("bool");
      expect(Array.from(above.data as Uint8Array).filter(Boolean)).toHaveLength(15);
    }
    // Both were disposed: the session is closed and the database released, so it reopens.
    await using again = await Client.open({ workspace: join(root, "ws") });
    const runs = await again.engine.listRuns();
    expect(runs.every((r) => r.sessionId === sessionId)).toBe(true);
    expect(runs.map((r) => r.status)).toEqual(["succeeded", "succeeded"]);
  });

  it("refuses server mode with a clear message until it exists", async () => {
    await expect(Client.open("http://localhost:7740")).rejects.toThrow(/server mode .* is not available in this version/);
  });
});
