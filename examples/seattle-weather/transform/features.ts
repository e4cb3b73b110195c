import { Bundle, type MetaVariables } from "@maelstrom/sdk";

// Seattle climatology 2012-2015 (mean, standard deviation); fixed so that any data set is scaled alike.
const SCALE: Record<string, [number, number]> = {
  precipitation: [3.03, 6.68],
  temp_max: [16.44, 7.35],
  temp_min: [8.23, 5.02],
  wind: [3.24, 1.44],
  temp_range: [8.21, 3.5],
};

const DAY_NS = 86_400_000_000_000n;

export function apply(bundle: Bundle, meta: MetaVariables): Bundle {
  const table = bundle.table();
  const dates = table["date"] as BigInt64Array;
  const column = (name: string): Float64Array => table[name] as Float64Array;
  const inputs = ["precipitation", "temp_max", "temp_min", "wind"].map(column);
  // Cleaning: a day with any missing observation is dropped.
  const rows: number[] = [];
  for (let i = 0; i < dates.length; i += 1) if (inputs.every((c) => Number.isFinite(c[i]))) rows.push(i);

  const features: Record<string, Float64Array | string[] | BigInt64Array> = {
    date: BigInt64Array.from(rows.map((i) => dates[i] ?? 0n)),
  };
  const standardise = (name: string, values: number[]): Float64Array => {
    const [mean, sd] = SCALE[name] ?? [0, 1];
    return Float64Array.from(values, (v) => (v - mean) / sd);
  };
  for (const name of ["precipitation", "temp_max", "temp_min", "wind"]) {
    const c = column(name);
    features[name] = standardise(name, rows.map((i) => c[i] ?? NaN));
  }
  const tmax = column("temp_max");
  const tmin = column("temp_min");
  features["temp_range"] = standardise("temp_range", rows.map((i) => (tmax[i] ?? 0) - (tmin[i] ?? 0)));
  const dayOfYear = rows.map((i) => {
    const day = new Date(Number((dates[i] ?? 0n) / 1_000_000n));
    return Number((BigInt(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate())) * 1_000_000n - BigInt(Date.UTC(day.getUTCFullYear(), 0, 1)) * 1_000_000n) / DAY_NS);
  });
  for (let k = 1; k <= meta.get<number>("harmonics"); k += 1) {
    features[`doy_sin${k}`] = Float64Array.from(dayOfYear, (d) => Math.sin((2 * Math.PI * k * d) / 365.25));
    features[`doy_cos${k}`] = Float64Array.from(dayOfYear, (d) => Math.cos((2 * Math.PI * k * d) / 365.25));
  }
  // The label passes through when present (training), and is simply absent at inference.
  if (bundle.has("weather")) {
    const weather = table["weather"] as string[];
    features["weather"] = rows.map((i) => weather[i] ?? "");
  }
  return Bundle.fromTable(features, {
    attrs: { ...bundle.attrs, features: "standardised, with day-of-year harmonics" },
    dtypes: { date: "datetime64[ns]" },
  });
}
