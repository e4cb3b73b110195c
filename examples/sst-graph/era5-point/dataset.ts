import { readFileSync } from "node:fs";
import type { Bundle} from "@maelstrom/sdk";
import { bundleFromCsv } from "@maelstrom/sdk";

export function get(): Bundle {
  return bundleFromCsv(readFileSync("era5-point.csv", "utf8"), { source: "era5-point.csv" });
}
