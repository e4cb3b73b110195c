import { Bundle, type MetaVariables } from "@maelstrom/sdk";

const DAY_MS = 86_400_000;

export function apply(bundle: Bundle, meta: MetaVariables): Bundle {
  const t = bundle.table();
  const date = t["date"] as BigInt64Array; // datetime64[ns]: nanoseconds since 1970 (UTC)
  const air = t["air_temp"] as Float64Array;
  const wind = t["wind"] as Float64Array;

  // Keep only complete days (an empty CSV cell is NaN).
  const rows: number[] = [];
  for (let i = 0; i < date.length; i++) if (Number.isFinite(air[i]) && Number.isFinite(wind[i])) rows.push(i);
  const pick = (c: Float64Array) => Float64Array.from(rows, (i) => c[i]!);

  const columns: Record<string, Float64Array | BigInt64Array> = {
    date: BigInt64Array.from(rows, (i) => date[i]!),
    air_temp: pick(air),
    wind: pick(wind),
  };
  // The label passes through when it is there (training) and is simply absent otherwise.
  if (bundle.has("sst")) columns["sst"] = pick(t["sst"] as Float64Array);

  const doy = rows.map((i) => {
    const ms = Number(date[i]! / 1_000_000n);
    return (ms - Date.UTC(new Date(ms).getUTCFullYear(), 0, 1)) / DAY_MS;
  });
  for (let k = 1; k <= meta.get<number>("harmonics"); k++) {
    columns[`doy_sin${k}`] = Float64Array.from(doy, (d) => Math.sin((2 * Math.PI * k * d) / 365.25));
    columns[`doy_cos${k}`] = Float64Array.from(doy, (d) => Math.cos((2 * Math.PI * k * d) / 365.25));
  }
  console.log(`kept ${rows.length} of ${date.length} days`);
  // A BigInt64Array would be stored as int64; say that it holds dates.
  return Bundle.fromTable(columns, { attrs: bundle.attrs, dtypes: { date: "datetime64[ns]" } });
}
