import type { Bundle } from "./bundle.js";
import { formatDatetime } from "./datetime.js";
import { dataBytes } from "./dtype.js";
import type { BundleSummary, Variable, VariableSummary } from "./types.js";

const HEAD = 3;
const TAIL = 2;
const MAX_STRING = 40;

function formatFloat(value: number, float32: boolean): string {
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  if (Number.isInteger(value) && Math.abs(value) < 1e16) return String(value);
  let text = String(value);
  if (float32) {
    // Shortest decimal that reads back as the same float32, not the float64 expansion.
    for (let p = 1; p <= 9; p++) {
      const candidate = value.toPrecision(p);
      if (Math.fround(Number(candidate)) === value) {
        text = String(Number(candidate));
        break;
      }
    }
  }
  if (text.length <= 10) return text;
  const abs = Math.abs(value);
  return abs >= 1e-4 && abs < 1e6 ? String(Number(value.toPrecision(6))) : value.toExponential(5).replace(/\.?0+e/, "e");
}

function formatValue(v: Variable, i: number): string {
  const value = v.data[i];
  switch (v.dtype) {
    case "string": {
      const s = value as string;
      return JSON.stringify(s.length > MAX_STRING ? `${s.slice(0, MAX_STRING)}…` : s);
    }
    case "bool":
      return value === 0 ? "false" : "true";
    case "datetime64[ns]":
      return formatDatetime(value as bigint);
    case "float32":
    case "float64":
      return formatFloat(value as number, v.dtype === "float32");
    default:
      return String(value);
  }
}

/** First and last few values in C order: "[0.1, 0.2, 0.3, …, 9.8, 9.9]"; a 0-d variable shows its value alone. */
function previewVariable(v: Variable): string {
  const n = v.data.length;
  if (v.dims.length === 0 && n === 1) return formatValue(v, 0);
  const indices = n <= HEAD + TAIL + 1 ? [...Array(n).keys()] : [...Array(HEAD).keys(), -1, ...Array.from({ length: TAIL }, (_, k) => n - TAIL + k)];
  return `[${indices.map((i) => (i < 0 ? "…" : formatValue(v, i))).join(", ")}]`;
}

function summarize(v: Variable, role: "data" | "coord"): VariableSummary {
  return { name: v.name, role, dims: [...v.dims], shape: [...v.shape], dtype: v.dtype, bytes: dataBytes(v.data), preview: previewVariable(v), attrs: v.attrs };
}

/** What a person (CLI, GUI, logs) needs to see of a bundle without printing its data. */
export function summarizeBundle(bundle: Bundle): BundleSummary {
  const variables = [
    ...bundle.coords.map((name) => summarize(bundle.variable(name), "coord")),
    ...bundle.variables.map((name) => summarize(bundle.variable(name), "data")),
  ];
  return { variables, dims: bundle.dims, attrs: bundle.attrs, bytes: bundle.nbytes };
}
