// `node examples/sst-graph/make-data.mjs` writes (again) the two synthetic daily records for 2018-2021: a buoy's sea-surface temperature
// (date, sst; a few days missing) and reanalysis weather at the buoy (date, air_temp, wind).
import { writeFileSync } from "node:fs";

let seed = 7;
const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
const noise = () => rand() + rand() + rand() - 1.5;

const buoy = ["date,sst"];
const era5 = ["date,air_temp,wind"];
for (let t = Date.UTC(2018, 0, 1); t <= Date.UTC(2021, 11, 31); t += 86_400_000) {
  const day = new Date(t);
  const date = day.toISOString().slice(0, 10);
  const doy = (t - Date.UTC(day.getUTCFullYear(), 0, 1)) / 86_400_000;
  const air = 10 + 8 * Math.sin((2 * Math.PI * (doy - 110)) / 365.25) + 2 * noise();
  const wind = 3 + 2 * Math.abs(noise());
  const sst = 11 + 0.35 * air - 0.25 * wind + 2 * Math.sin((2 * Math.PI * (doy - 140)) / 365.25) + 0.3 * noise();
  era5.push(`${date},${air.toFixed(2)},${wind.toFixed(2)}`);
  if (rand() >= 0.02) buoy.push(`${date},${sst.toFixed(2)}`); // the buoy misses a few days
}
writeFileSync(new URL("buoy-sst/buoy-sst.csv", import.meta.url), buoy.join("\n") + "\n");
writeFileSync(new URL("era5-point/era5-point.csv", import.meta.url), era5.join("\n") + "\n");
