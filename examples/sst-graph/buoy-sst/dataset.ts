import { readFileSync } from "node:fs";
import type { Bundle} from "@maelstrom/sdk";
import { bundleFromCsv } from "@maelstrom/sdk";

export function get(): Bundle {
  return bundleFromCsv(readFileSync("buoy-sst.csv", "utf8"), { source: "buoy-sst.csv" });
}
