import { Bundle, type MetaVariables } from "@maelstrom/sdk";

export function train(bundle: Bundle, meta: MetaVariables): [{ mean: number }, Bundle] {
  const y = Array.from(bundle.variable("sst").data as Float64Array);
  const split = Math.round(y.length * (1 - meta.get<number>("test_fraction")));
  const mean = y.slice(0, split).reduce((s, v) => s + v, 0) / split;
  const test = y.slice(split);
  const rmse = Math.sqrt(test.reduce((s, v) => s + (v - mean) ** 2, 0) / test.length);
  return [{ mean }, Bundle.fromVariables({ rmse: { dims: [], data: [rmse] } })];
}

export function apply(state: { mean: number }, bundle: Bundle): Bundle {
  return Bundle.fromTable({ sst: new Float64Array(bundle.dims["row"] ?? 0).fill(state.mean) });
}
