import { InputError } from "@maelstrom/errors";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { bundleFromCsv } from "./index.js";

function csvError(text: string, source?: string): InputError {
  try {
    bundleFromCsv(text, source === undefined ? {} : { source });
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).code).toBe("BUNDLE_INVALID");
    return error as InputError;
  }
  throw new Error("expected an InputError");
}

describe("bundleFromCsv", () => {
  it("infers float64, datetime64[ns], bool and string columns", () => {
    const b = bundleFromCsv("date,precipitation,wet,weather,stamp\n2012-01-01,0.0,true,drizzle,2012-01-01T06:30:00Z\n2012-01-02,10.9,FALSE,rain,2012-01-01 07:00\n");
    expect(b.variables).toEqual(["date", "precipitation", "wet", "weather", "stamp"]);
    expect(b.dims).toEqual({ row: 2 });
    expect(b.variable("date").dtype).toBe("datetime64[ns]");
    expect(Array.from(b.variable("date").data as BigInt64Array)).toEqual([1325376000000000000n, 1325462400000000000n]);
    expect(b.variable("stamp").dtype).toBe("datetime64[ns]");
    expect(Array.from(b.variable("stamp").data as BigInt64Array)).toEqual([1325399400000000000n, 1325401200000000000n]);
    expect(b.variable("precipitation").data).toEqual(new Float64Array([0, 10.9]));
    expect(b.variable("wet").dtype).toBe("bool");
    expect(Array.from(b.variable("wet").data as Uint8Array)).toEqual([1, 0]);
    expect(b.variable("weather").data).toEqual(["drizzle", "rain"]);
  });

  it("reads empty numbers as NaN, empty dates as NaT, and integer columns as float64", () => {
    const b = bundleFromCsv("n,d,i,s,e\n1.5,2020-01-01,1,x,\n,,2,,\n-inf,2020-01-03,3,z,\nNaN,2020-01-04,4,w,\n");
    expect(Array.from(b.variable("n").data as Float64Array)).toEqual([1.5, NaN, -Infinity, NaN]);
    expect((b.variable("d").data as BigInt64Array)[1]).toBe(-(2n ** 63n));
    expect(b.variable("i").dtype).toBe("float64");
    expect(b.variable("s").data).toEqual(["x", "", "z", "w"]);
    expect(b.variable("e").dtype).toBe("float64");
  });

  it("falls back to string for mixed columns and booleans with gaps", () => {
    const b = bundleFromCsv("a,b,c\n1,true,2020-01-01\nx,,2020-13-01\n");
    expect(b.variable("a").data).toEqual(["1", "x"]);
    expect(b.variable("b").data).toEqual(["true", ""]);
    expect(b.variable("c").data).toEqual(["2020-01-01", "2020-13-01"]);
  });

  it("handles RFC 4180 quoting, CRLF and a BOM", () => {
    const text = '\uFEFFname,"note, with comma",n\r\n"Smith, J.","said ""hi""\r\nthen left",1\r\nplain,"",2\r\n';
    const b = bundleFromCsv(text);
    expect(b.variables).toEqual(["name", "note, with comma", "n"]);
    expect(b.variable("name").data).toEqual(["Smith, J.", "plain"]);
    expect(b.variable("note, with comma").data).toEqual(['said "hi"\r\nthen left', ""]);
    expect(b.variable("n").data).toEqual(new Float64Array([1, 2]));
  });

  it("skips blank lines and accepts a file without a trailing newline or without rows", () => {
    expect(bundleFromCsv("a,b\n\n1,2\n\n3,4").variable("a").data).toEqual(new Float64Array([1, 3]));
    const empty = bundleFromCsv("a,b\n");
    expect(empty.dims).toEqual({ row: 0 });
    expect(empty.variables).toEqual(["a", "b"]);
  });

  it("reads the Seattle weather data shipped with vega-datasets", () => {
    // vega-datasets is a devDependency of the workspace root (its exports hide the data files).
    const file = new URL("../../../../node_modules/vega-datasets/data/seattle-weather.csv", import.meta.url);
    const b = bundleFromCsv(readFileSync(file, "utf8"), { source: "seattle-weather.csv" });
    expect(b.dims).toEqual({ row: 1461 });
    expect(Object.fromEntries(b.variables.map((n) => [n, b.variable(n).dtype]))).toEqual({
      date: "datetime64[ns]",
      precipitation: "float64",
      temp_max: "float64",
      temp_min: "float64",
      wind: "float64",
      weather: "string",
    });
  });

  it("reports a row with the wrong number of fields with source, line and counts", () => {
    const e = csvError("a,b,c\n1,2,3\n4,5\n", "obs.csv");
    expect(e.message).toBe("obs.csv: line 3: expected 3 fields (as in the header) but found 2");
    expect(e.details).toEqual({ source: "obs.csv", line: 3, expected: 3, actual: 2 });
    // Line numbers count the newlines inside quoted fields.
    expect(csvError('a,b\n"x\ny",1\n1,2,3\n').message).toBe("CSV: line 4: expected 2 fields (as in the header) but found 3");
  });

  it("reports empty files, missing headers, duplicate names and broken quoting", () => {
    expect(csvError("", "e.csv").message).toBe('e.csv: the file is empty; expected a header row of column names like "date,temp_max"');
    expect(csvError("\n\r\n").message).toContain("the file is empty");
    expect(csvError(",b\n1,2\n", "h.csv").message).toBe("h.csv: line 1: column 1 of the header has no name; the first line must be a header of column names");
    expect(csvError("a,b,a\n1,2,3\n", "d.csv").message).toBe("d.csv: line 1: duplicate column name 'a' (columns 1 and 3)");
    expect(csvError('a,b\n1,"open\n', "q.csv").message).toBe(`q.csv: line 2: a quoted field is never closed (missing '"')`);
    expect(csvError('a,b\n1,"x"y\n').message).toBe(`CSV: line 2: unexpected "y" after the closing quote of field 2; inside a quoted field write a quote as ""`);
    expect(csvError("a/b\n1\n", "n.csv").message).toContain("n.csv: variable name 'a/b' must not contain '/'");
    expect(csvError("row,x\n1,2\n", "r.csv").message).toContain("r.csv: column 'row' clashes with the table dimension 'row'");
  });
});
