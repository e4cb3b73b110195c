import { describe, expect, it } from "vitest";
import { parseStepEvent } from "./events.js";

describe("parseStepEvent", () => {
  it("accepts known events and ignores everything else", () => {
    expect(parseStepEvent('{"type":"metric","name":"loss","value":0.5,"step":1,"time":1}')).toMatchObject({ name: "loss" });
    expect(parseStepEvent('{"type":"other"}')).toBeNull();
    expect(parseStepEvent("not json")).toBeNull();
    expect(parseStepEvent("3")).toBeNull();
  });
});
