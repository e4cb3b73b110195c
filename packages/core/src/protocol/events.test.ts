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

describe("metric events", () => {
  it("read a null value (NaN in JSON) as NaN and drop malformed points", () => {
    expect(parseStepEvent('{"type":"metric","name":"loss","value":null,"step":3,"time":1}')).toMatchObject({ name: "loss", value: NaN, step: 3 });
    expect(parseStepEvent('{"type":"metric","name":"loss","value":"high","step":3,"time":1}')).toBeNull();
    expect(parseStepEvent('{"type":"metric","value":1,"step":3,"time":1}')).toBeNull();
  });
});
