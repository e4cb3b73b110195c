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

describe("the index of a fused call", () => {
  it("is kept on metric, progress and failed events, and absent when not sent", () => {
    expect(parseStepEvent('{"type":"metric","name":"loss","value":0.5,"step":null,"time":1,"index":2}')).toMatchObject({ index: 2 });
    expect(parseStepEvent('{"type":"progress","fraction":0.5,"message":null,"index":0}')).toMatchObject({ index: 0 });
    expect(parseStepEvent('{"type":"failed","reason":"user","message":"boom","location":null,"stack":null,"index":1}')).toMatchObject({ index: 1 });
    expect(parseStepEvent('{"type":"progress","fraction":0.5,"message":null}')).not.toHaveProperty("index");
  });

  it("must be a non-negative integer: anything else makes the line unknown", () => {
    for (const index of ["-1", "1.5", '"1"', "null", "true"]) {
      expect(parseStepEvent(`{"type":"metric","name":"loss","value":0.5,"step":null,"time":1,"index":${index}}`), index).toBeNull();
    }
  });
});
