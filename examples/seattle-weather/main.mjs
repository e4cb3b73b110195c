// The main job (`npm start`): register the Seattle weather artifacts, train the pipeline, apply
// the trained model, and show the model version, its metrics and its lineage.
// It uses the client API exactly as a user script would. (Node 20 has no `await using` syntax in
// plain JavaScript, so this script closes explicitly; TypeScript code can write `await using`.)
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@maelstrom/client";
import { renderLineage } from "@maelstrom/engine";

const here = dirname(fileURLToPath(import.meta.url));
const workspace = join(here, "workspace");
const shown = relative(process.cwd(), workspace) || ".";

const formatMetric = (value) => (Number.isInteger(value) ? String(value) : value.toFixed(4));

const client = await Client.open({ workspace });
try {
const dataset = await client.addArtifact(join(here, "dataset"));
const transform = await client.addArtifact(join(here, "transform"));
const model = await client.addArtifact(join(here, "model"));
console.log(`workspace ${shown}`);
for (const a of [dataset, transform, model]) console.log(`  ${a.kind.padEnd(9)} ${a.name} ${a.digest.slice(0, 19)}`);

const progress = {
  onEvent(event) {
    if (event.type === "step-finished") console.log(`  step ${event.stepId} ${event.status} in ${Math.round(event.wallMs)} ms`);
  },
};

const session = await client.enterSession({ experiment: "seattle-weather" });
console.log("\ntraining: seattle-weather → seattle-weather-features → seattle-weather-classifier");
const { model: trained, stats } = await session.train([transform, model], { data: dataset, hooks: progress });
console.log(`\nmodel version ${trained.ref} (run ${stats.runId})`);
for (const [name, value] of Object.entries(stats.metrics)) console.log(`  held-out ${name.padEnd(9)} ${formatMetric(value)}`);

console.log("\napplying the trained model to the same dataset");
const inference = await session.apply(trained, { data: dataset, hooks: progress });
const predictions = (await inference.bundle()).table();
const predicted = predictions["predicted_weather"];
const observed = predictions["observed_weather"];
const agree = predicted.filter((p, i) => p === observed[i]).length;
console.log(`  ${predicted.length} days predicted; agrees with the observed weather on ${agree} (${((100 * agree) / predicted.length).toFixed(1)}%, training days included)`);
console.log(`  output bundle ${inference.digest}`);

console.log("\nlineage of the predictions:");
console.log(renderLineage(await client.engine.lineage(inference.runId)));

console.log(`
next, try:
  npx maelstrom --workspace ${shown} models show ${trained.ref}
  npx maelstrom --workspace ${shown} runs show ${inference.runId}
  npx maelstrom --workspace ${shown} rerun ${stats.runId}
  npx maelstrom --workspace ${shown} train seattle-weather-features seattle-weather-classifier --data seattle-weather --set trees=100
  npx maelstrom --workspace ${shown} apply ${trained.ref} --data seattle-weather --out predictions.csv`);
await session.close();
} finally {
  await client.close();
}
