import { Bundle, type Bundles } from "@maelstrom/sdk";

// Two inputs, obs and weather: the function gets an object of bundles by input name.
export function apply(inputs: Bundles): Bundle {
  const obs = inputs["obs"]!.table();
  const weather = inputs["weather"]!.table();
  const row = new Map<bigint, number>();
  (weather["date"] as BigInt64Array).forEach((d, i) => row.set(d, i));
  const date: bigint[] = [], sst: number[] = [], air: number[] = [], wind: number[] = [];
  (obs["date"] as BigInt64Array).forEach((d, i) => {
    const j = row.get(d);
    if (j === undefined) return;
    date.push(d);
    sst.push((obs["sst"] as Float64Array)[i]!);
    air.push((weather["air_temp"] as Float64Array)[j]!);
    wind.push((weather["wind"] as Float64Array)[j]!);
  });
  console.log(`matched ${date.length} of ${(obs["date"] as BigInt64Array).length} buoy days`);
  return Bundle.fromTable(
    { date: BigInt64Array.from(date), sst: Float64Array.from(sst), air_temp: Float64Array.from(air), wind: Float64Array.from(wind) },
    { dtypes: { date: "datetime64[ns]" } },
  );
}
