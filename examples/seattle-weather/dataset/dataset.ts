import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Bundle, bundleFromCsv, type MetaVariables } from "@maelstrom/sdk";

// The raw file ships in the vega-datasets npm package (next to its build/ folder); resolve the
// package like any dependency.
const csvPath = join(dirname(createRequire(import.meta.url).resolve("vega-datasets")), "..", "data", "seattle-weather.csv");

export function get(meta: MetaVariables): Bundle {
  const all = bundleFromCsv(readFileSync(csvPath, "utf8"), { source: csvPath }).table();
  const start = BigInt(Date.parse(meta.get<string>("start"))) * 1_000_000n;
  const end = BigInt(Date.parse(meta.get<string>("end"))) * 1_000_000n;
  const dates = all["date"] as BigInt64Array;
  const keep: number[] = [];
  dates.forEach((d, i) => {
    if (d >= start && d <= end) keep.push(i);
  });
  const pick = <T extends ArrayLike<unknown>>(column: T): unknown[] => keep.map((i) => column[i]);
  return Bundle.fromTable(
    {
      date: BigInt64Array.from(keep.map((i) => dates[i] ?? 0n)),
      precipitation: Float64Array.from(pick(all["precipitation"] as Float64Array) as number[]),
      temp_max: Float64Array.from(pick(all["temp_max"] as Float64Array) as number[]),
      temp_min: Float64Array.from(pick(all["temp_min"] as Float64Array) as number[]),
      wind: Float64Array.from(pick(all["wind"] as Float64Array) as number[]),
      weather: pick(all["weather"] as string[]) as string[],
    },
    {
      attrs: { source: "NOAA via vega-datasets seattle-weather.csv", units: "precipitation mm, temperature degC, wind m/s" },
      dtypes: { date: "datetime64[ns]" },
    },
  );
}
