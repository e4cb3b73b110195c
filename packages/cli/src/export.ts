import { writeFile } from "node:fs/promises";
import { extname } from "node:path";
import { InputError } from "@maelstrom/errors";
import { formatDatetime, writeBundle, type Bundle } from "@maelstrom/core";

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function cell(data: ArrayLike<unknown>, dtype: string, row: number): string {
  const value = data[row];
  if (dtype === "datetime64[ns]") return formatDatetime(value as bigint);
  if (dtype === "bool") return value === 1 ? "true" : "false";
  return csvField(String(value));
}

/** Write a bundle to `target`: a .csv file for table bundles, else a Zarr folder. */
export async function exportBundle(bundle: Bundle, target: string): Promise<"csv" | "zarr"> {
  if (extname(target).toLowerCase() !== ".csv") {
    await writeBundle(bundle, target);
    return "zarr";
  }
  const gridded = bundle.variables.find((name) => bundle.variable(name).dims.length !== 1);
  if (gridded !== undefined) {
    throw new InputError(
      `cannot write ${target} as CSV: variable '${gridded}' has dims (${bundle.variable(gridded).dims.join(", ")}), and CSV holds only tables (1-d variables on one dim); give --out a folder name to write a Zarr bundle instead`,
      { details: { out: target, variable: gridded } },
    );
  }
  const table = bundle.table();
  const names = Object.keys(table);
  const dtypes = names.map((n) => bundle.variable(n).dtype);
  const rows = table[names[0] ?? ""]?.length ?? 0;
  const lines = [names.map(csvField).join(",")];
  for (let row = 0; row < rows; row += 1) {
    lines.push(names.map((n, i) => cell(table[n] ?? [], dtypes[i] ?? "", row)).join(","));
  }
  await writeFile(target, `${lines.join("\n")}\n`);
  return "csv";
}
