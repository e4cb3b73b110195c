import { Bundle, logMetric, type MetaVariables } from "@maelstrom/sdk";

// The trained state: plain data, so Maelstrom can store it as it is.
interface State {
  features: string[];
  coef: number[]; // intercept first
}

/** Every float64 variable except the label is a feature. */
function featureNames(bundle: Bundle): string[] {
  return bundle.variables.filter((n) => n !== "sst" && bundle.variable(n).dtype === "float64");
}

function design(bundle: Bundle, features: string[]): number[][] {
  const cols = features.map((n) => bundle.variable(n).data as Float64Array);
  const rows = bundle.dims["row"] ?? 0;
  return Array.from({ length: rows }, (_, i) => [1, ...cols.map((c) => c[i]!)]);
}

/** Solves (XᵀX + λI) b = Xᵀy by Gaussian elimination with partial pivoting. */
function leastSquares(x: number[][], y: number[], ridge: number): number[] {
  const p = x[0]!.length;
  const a = Array.from({ length: p }, (_, r) => Array.from({ length: p + 1 }, (_, c) => {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += x[i]![r]! * (c === p ? y[i]! : x[i]![c]!);
    return s + (c === r && r > 0 ? ridge : 0); // the intercept is not penalised
  }));
  for (let col = 0; col < p; col++) {
    let pivot = col;
    for (let r = col + 1; r < p; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    for (let r = 0; r < p; r++) {
      if (r === col) continue;
      const f = a[r]![col]! / a[col]![col]!;
      for (let c = col; c <= p; c++) a[r]![c]! -= f * a[col]![c]!;
    }
  }
  return a.map((row, r) => row[p]! / row[r]!);
}

const predict = (x: number[][], coef: number[]) => x.map((row) => row.reduce((s, v, j) => s + v * coef[j]!, 0));

export function train(bundle: Bundle, meta: MetaVariables): [State, Bundle] {
  const features = featureNames(bundle);
  const x = design(bundle, features);
  const y = Array.from(bundle.variable("sst").data as Float64Array);
  // Chronological split: the last days are held out.
  const split = Math.round(x.length * (1 - meta.get<number>("test_fraction")));
  const coef = leastSquares(x.slice(0, split), y.slice(0, split), meta.get<number>("ridge"));

  const truth = y.slice(split);
  const guess = predict(x.slice(split), coef);
  const mean = truth.reduce((s, v) => s + v, 0) / truth.length;
  const sse = truth.reduce((s, v, i) => s + (v - guess[i]!) ** 2, 0);
  const sst = truth.reduce((s, v) => s + (v - mean) ** 2, 0);
  logMetric("train_rows", split);
  console.log(`features: ${features.join(", ")}`);

  const metrics = Bundle.fromVariables({
    rmse: { dims: [], data: [Math.sqrt(sse / truth.length)] },
    r2: { dims: [], data: [1 - sse / sst] },
  });
  return [{ features, coef }, metrics];
}

export function apply(state: State, bundle: Bundle): Bundle {
  const columns: Record<string, Float64Array | BigInt64Array> = {
    predicted_sst: Float64Array.from(predict(design(bundle, state.features), state.coef)),
  };
  if (bundle.has("date")) columns["date"] = bundle.variable("date").data as BigInt64Array;
  if (bundle.has("sst")) columns["observed_sst"] = bundle.variable("sst").data as Float64Array;
  return Bundle.fromTable(columns, { dtypes: bundle.has("date") ? { date: "datetime64[ns]" } : {} });
}
