import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Bundle } from "@maelstrom/core";
import { runStepProcess } from "@maelstrom/runtime";
import { bundleAt, nodeModule, python, pythonModule, stepCase, testFolder, valuesOf } from "./test-support.js";

const { fresh } = testFolder("step-process");

/** The same two-input, two-output transform in each language, and one that returns the wrong names. */
const runners = [
  {
    name: "node",
    runner: { kind: "node" } as const,
    module: (good: boolean) =>
      nodeModule(
        fresh("node"),
        `import { Bundle } from "SDK";
export function apply(bundles, meta) {
  const x = bundles.left.variable("x").data;
  const y = bundles.right.variable("y").data;
  const sum = Bundle.fromTable({ s: Float64Array.from(x, (v, i) => v + y[i]) });
  return ${good ? `{ sum, names: Bundle.fromTable({ n: Object.keys(bundles).sort() }) }` : "{ sum, extra: sum }"};
}
`,
      ),
    contract: "apply of demo returned an object with sum, extra (missing: names; extra: extra), expected an object with exactly the outputs sum, names, one Bundle each",
  },
  {
    name: "python",
    runner: { kind: "python", interpreter: python ?? "/usr/bin/python3" } as const,
    module: (good: boolean) =>
      pythonModule(
        fresh("python"),
        `import maelstrom

def apply(bundles, meta):
    total = maelstrom.Bundle({"s": bundles["left"].to_numpy("x") + bundles["right"].to_numpy("y")})
    return ${good ? `{"sum": total, "names": maelstrom.Bundle({"n": sorted(bundles)})}` : `{"sum": total, "extra": total}`}
`,
      ),
    contract: "apply of demo returned a dict with sum, extra (missing: names; extra: extra), expected a dict with exactly the outputs sum, names, one Bundle each",
  },
];

describe.each(runners)("named inputs and outputs ($name)", ({ name, runner, module, contract }) => {
  const skip = name === "python" && python === undefined;

  async function twoInTwoOut(good: boolean): Promise<{ result: Awaited<ReturnType<typeof runStepProcess>>; sum: string; names: string }> {
    const left = await bundleAt(fresh("left"), Bundle.fromTable({ x: [1, 2, 3] }));
    const right = await bundleAt(fresh("right"), Bundle.fromTable({ y: [10, 20, 30] }));
    const out = fresh("out");
    const outputs = { sum: join(out, "sum"), names: join(out, "names") };
    const step = stepCase(fresh, runner, { call: "transform", module: module(good), inputs: { left, right }, outputs });
    return { result: await runStepProcess(step.options), ...outputs };
  }

  it.skipIf(skip)("gives the function an object of bundles and writes each returned bundle to its output", async () => {
    const { result, sum, names } = await twoInTwoOut(true);
    expect(result.outcome, JSON.stringify(result.failure)).toBe("succeeded");
    expect(await valuesOf(sum, "s")).toEqual([11, 22, 33]);
    expect(await valuesOf(names, "n")).toEqual(["left", "right"]);
  });

  it.skipIf(skip)("fails with a contract error that names the missing, extra and expected outputs", async () => {
    const { result } = await twoInTwoOut(false);
    expect(result.outcome).toBe("failed");
    expect(result.failure?.reason).toBe("contract");
    expect(result.failure?.message).toBe(contract);
  });
});
