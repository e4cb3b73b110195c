import { RandomForestClassifier } from "ml-random-forest";
import { Bundle, logMetric, type MetaVariables } from "@maelstrom/sdk";

interface State {
  readonly forest: unknown;
  readonly classes: string[];
  readonly features: string[];
}

/** Feature columns: every float variable of the input (the transform decides which exist). */
function featureNames(bundle: Bundle): string[] {
  return bundle.variables.filter((name) => bundle.variable(name).dtype === "float64");
}

function matrix(bundle: Bundle, features: readonly string[]): number[][] {
  const columns = features.map((name) => bundle.variable(name).data as Float64Array);
  const rows = columns[0]?.length ?? 0;
  return Array.from({ length: rows }, (_, i) => columns.map((c) => c[i] ?? 0));
}

/** Mulberry32: a small seeded generator, so the train/test split is reproducible. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function macroF1(truth: readonly number[], predicted: readonly number[], classes: number): number {
  let sum = 0;
  let present = 0;
  for (let c = 0; c < classes; c += 1) {
    let tp = 0, fp = 0, fn = 0;
    truth.forEach((t, i) => {
      if (predicted[i] === c && t === c) tp += 1;
      else if (predicted[i] === c) fp += 1;
      else if (t === c) fn += 1;
    });
    if (tp + fn === 0) continue;
    present += 1;
    sum += tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
  }
  return present === 0 ? 0 : sum / present;
}

export function train(bundle: Bundle, meta: MetaVariables): [State, Bundle] {
  const labels = bundle.variable("weather").data as string[];
  const classes = [...new Set(labels)].sort();
  const y = labels.map((l) => classes.indexOf(l));
  const features = featureNames(bundle);
  const x = matrix(bundle, features);

  const next = random(meta.get<number>("seed"));
  const order = x.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i -= 1) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j] ?? 0, order[i] ?? 0];
  }
  const testSize = Math.round(order.length * meta.get<number>("test_fraction"));
  const test = order.slice(0, testSize);
  const fit = order.slice(testSize);

  const forest = new RandomForestClassifier({
    nEstimators: meta.get<number>("trees"),
    maxFeatures: meta.get<number>("max_features"),
    seed: meta.get<number>("seed"),
    noOOB: true,
  });
  forest.train(fit.map((i) => x[i] ?? []), fit.map((i) => y[i] ?? 0));
  const predicted: number[] = forest.predict(test.map((i) => x[i] ?? []));
  const truth = test.map((i) => y[i] ?? 0);
  const accuracy = truth.filter((t, i) => t === predicted[i]).length / truth.length;
  const f1 = macroF1(truth, predicted, classes.length);
  logMetric("train_days", fit.length);
  logMetric("test_days", test.length);

  // toJSON() still holds class instances; a JSON round trip leaves the plain data load() expects.
  const state: State = { forest: JSON.parse(JSON.stringify(forest)), classes, features };
  const metrics = Bundle.fromVariables({
    accuracy: { dims: [], data: [accuracy] },
    macro_f1: { dims: [], data: [f1] },
  });
  return [state, metrics];
}

export function apply(state: State, bundle: Bundle): Bundle {
  const forest = RandomForestClassifier.load(state.forest as Parameters<typeof RandomForestClassifier.load>[0]);
  const predicted: number[] = forest.predict(matrix(bundle, state.features));
  const columns: Record<string, string[] | BigInt64Array> = {
    predicted_weather: predicted.map((p) => state.classes[p] ?? "unknown"),
  };
  if (bundle.has("date")) columns["date"] = bundle.variable("date").data as BigInt64Array;
  if (bundle.has("weather")) columns["observed_weather"] = bundle.variable("weather").data as string[];
  return Bundle.fromTable(columns, bundle.has("date") ? { dtypes: { date: "datetime64[ns]" } } : {});
}
