import { describe, expect, it } from "vitest";
import { MetaVariables } from "./index.js";

describe("MetaVariables", () => {
  const meta = new MetaVariables({ trees: 50, seed: 42 }, "classifier");
  it("returns declared values and fallbacks", () => {
    expect(meta.get<number>("trees")).toBe(50);
    expect(meta.get("depth", 3)).toBe(3);
    expect(meta.names).toEqual(["trees", "seed"]);
  });
  it("names the artifact and the declared parameters for an unknown name", () => {
    expect(() => meta.get("depth")).toThrow(/parameter 'depth' is not declared in the manifest of classifier \(declared: trees, seed\)/);
  });
});
