import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { Client } from "@maelstrom/client";

const here = dirname(fileURLToPath(import.meta.url));
const workspace = mkdtempSync(join(tmpdir(), "maelstrom-seattle-"));
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

describe("examples/seattle-weather", () => {
  it("classifies the NOAA Seattle weather type better than always guessing the most common type", async () => {
    await using client = await Client.open({ workspace });
    const dataset = await client.addArtifact(join(here, "dataset"));
    const transform = await client.addArtifact(join(here, "transform"));
    const model = await client.addArtifact(join(here, "model"));
    await using session = await client.enterSession();
    // A small forest keeps the test quick; npm start trains the full one.
    const { model: trained, stats } = await session.train([transform, model], { data: dataset, parameters: { trees: 5 } });

    const observed = (await client.engine.readBundle(trained.record.trainingData.digest)).variable("weather").data as string[];
    expect(observed).toHaveLength(1461); // every day of 2012-2015
    const counts = new Map<string, number>();
    for (const w of observed) counts.set(w, (counts.get(w) ?? 0) + 1);
    const majority = Math.max(...counts.values()) / observed.length;
    expect(stats.metrics["accuracy"]).toBeGreaterThan(majority);
    expect(stats.metrics["macro_f1"]).toBeGreaterThan(0.3);
    expect(trained.record.parameters).toMatchObject({ trees: 5, seed: 42 });

    const inference = await session.apply(trained, { data: dataset });
    const predictions = (await inference.bundle()).table();
    expect(predictions["predicted_weather"]).toHaveLength(1461);
    expect(new Set(predictions["predicted_weather"] as string[]).size).toBeGreaterThan(1);
  });
});
