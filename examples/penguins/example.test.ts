import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { Client } from "@maelstrom/client";

const here = dirname(fileURLToPath(import.meta.url));
const workspace = mkdtempSync(join(tmpdir(), "maelstrom-penguins-"));
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

const python = ["python3", "/usr/bin/python3"].find((p) => spawnSync(p, ["-c", "import numpy, pandas, sklearn"], { stdio: "ignore" }).status === 0);
const missing = "no python3 with numpy, pandas and scikit-learn (Debian: apt-get install python3-numpy python3-pandas python3-sklearn)";
if (python === undefined) {
  console.warn(`SKIPPED examples/penguins: ${missing}`);
  it.runIf(process.env["MAELSTROM_REQUIRE_INTEGRATION"] === "1")("examples/penguins can run", () => {
    throw new Error(`MAELSTROM_REQUIRE_INTEGRATION=1 but ${missing}`);
  });
}

describe.skipIf(python === undefined)("examples/penguins (Python)", () => {
  it("classifies Palmer penguin species and records Python, numpy and scikit-learn versions", async () => {
    await using client = await Client.open({ workspace });
    const dataset = await client.addArtifact(join(here, "dataset"));
    const transform = await client.addArtifact(join(here, "transform"));
    const model = await client.addArtifact(join(here, "model"));
    await using session = await client.enterSession();
    const { model: trained, stats } = await session.train([transform, model], { data: dataset, parameters: { trees: 20 } });
    expect(stats.metrics["accuracy"]).toBeGreaterThan(0.9);
    expect(stats.metrics["macro_f1"]).toBeGreaterThan(0.85);
    const python = trained.record.environment.python;
    expect(python?.python).toMatch(/^3\./);
    expect(Object.keys(python?.packages ?? {})).toEqual(expect.arrayContaining(["numpy", "sklearn", "pandas"]));

    const inference = await session.apply(trained, { data: dataset });
    const predicted = (await inference.bundle()).table()["predicted_species"] as string[];
    expect(predicted).toHaveLength(342); // 344 records, 2 without measurements
    expect(new Set(predicted)).toEqual(new Set(["Adelie", "Chinstrap", "Gentoo"]));
  });
});
