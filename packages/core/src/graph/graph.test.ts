import type { InputError } from "@maelstrom/errors";
import { describe, expect, it } from "vitest";
import { orderSteps } from "./graph.js";
import type { GraphStep } from "./graph.js";
import { thrownInputError } from "../test-support.js";

/** `step("c", "a", "b.model")`: step c reads output data of a and output model of b, as inputs in0, in1. */
function step(id: string, ...sources: string[]): GraphStep {
  return {
    id,
    sources: sources.map((text, position) => {
      const [from = "", output = "data"] = text.split(".");
      return { input: `in${position}`, step: from, output };
    }),
  };
}

function graphError(steps: readonly GraphStep[]): InputError {
  return thrownInputError(() => orderSteps(steps));
}

/** The shortest of five runs, in ms: a pause of the machine or the garbage collector is not the algorithm's. */
function fastest(run: () => unknown): number {
  const times = Array.from({ length: 5 }, () => {
    const started = performance.now();
    run();
    return performance.now() - started;
  });
  return Math.min(...times);
}

describe("orderSteps", () => {
  it("puts every step after the steps it reads", () => {
    const steps = [step("forest", "joined"), step("joined", "stations", "reanalysis.data"), step("stations"), step("reanalysis")];
    expect(orderSteps(steps)).toEqual(["stations", "reanalysis", "joined", "forest"]);
  });

  it("keeps declaration order among steps that are ready together", () => {
    expect(orderSteps([step("c"), step("b"), step("a")])).toEqual(["c", "b", "a"]);
    // e is ready from the start but declared last; d, declared second, goes as soon as b and c are done.
    expect(orderSteps([step("a"), step("d", "b", "c"), step("c", "a"), step("b", "a"), step("e")])).toEqual(["a", "c", "b", "d", "e"]);
  });

  it("accepts a step that reads several outputs of one step", () => {
    expect(orderSteps([step("b", "a.x", "a.y"), step("a")])).toEqual(["a", "b"]);
  });

  it("orders an empty graph", () => {
    expect(orderSteps([])).toEqual([]);
  });

  it("refuses two steps with one id", () => {
    const error = graphError([step("a"), step("x"), step("b"), step("x", "a")]);
    expect(error.code).toBe("GRAPH_INVALID");
    expect(error.message).toBe("two steps have the id 'x'");
    expect(error.details).toEqual({ problem: "duplicate-id", steps: ["x"], input: null, source: null });
  });

  it("refuses a source that names no step, listing the steps and suggesting one", () => {
    const error = graphError([step("stations"), step("joined", "stations", "statons.data"), step("c")]);
    expect(error.code).toBe("GRAPH_INVALID");
    expect(error.message).toBe(
      "step 'joined' input 'in1' is wired to step 'statons', which does not exist (did you mean 'stations'?); steps: stations, joined, c",
    );
    expect(error.details).toEqual({ problem: "unknown-source", steps: ["joined"], input: "in1", source: "statons" });
  });

  it("lists at most 20 ids", () => {
    const steps = Array.from({ length: 25 }, (_, position) => step(`s${position}`));
    const error = graphError([...steps, step("z", "nope")]);
    expect(error.message).toMatch(/; steps: s0, s1, .*, s19, … \(6 more\)$/);
  });

  it("refuses a cycle, naming it from the step declared first", () => {
    const error = graphError([step("x"), step("b", "a"), step("c", "b", "x"), step("a", "x", "c")]);
    expect(error.code).toBe("GRAPH_INVALID");
    expect(error.message).toBe("steps form a cycle: b -> c -> a -> b");
    expect(error.details).toEqual({ problem: "cycle", steps: ["b", "c", "a"], input: "in0", source: null });
  });

  it("finds a cycle upstream of other unreachable steps", () => {
    const error = graphError([step("after", "b"), step("a", "b"), step("b", "a")]);
    expect(error.message).toBe("steps form a cycle: a -> b -> a");
  });

  it("refuses a step that reads itself", () => {
    const error = graphError([step("a"), step("b", "a", "b.extra")]);
    expect(error.message).toBe("steps form a cycle: b -> b");
    expect(error.details).toMatchObject({ steps: ["b"], input: "in1" });
  });

  it("orders a chain of 10 000 steps declared backwards in well under 50 ms", () => {
    const count = 10_000;
    // Declared last-to-first, so every step is ready only after one declared after it.
    const steps = Array.from({ length: count }, (_, position) => {
      const at = count - 1 - position;
      return at === 0 ? step("s0") : step(`s${at}`, `s${at - 1}`);
    });
    const order = orderSteps(steps);
    expect(order).toHaveLength(count);
    expect(order[0]).toBe("s0");
    expect(order[count - 1]).toBe(`s${count - 1}`);
    expect(fastest(() => orderSteps(steps))).toBeLessThan(50);
  });

  it("finds a cycle of 10 000 steps in well under 50 ms", () => {
    const count = 10_000;
    const steps = Array.from({ length: count }, (_, position) => step(`s${position}`, `s${(position + count - 1) % count}`));
    const error = graphError(steps);
    expect(error.details["steps"]).toHaveLength(count);
    expect(error.message.startsWith("steps form a cycle: s0 -> s1 -> s2")).toBe(true);
    expect(fastest(() => graphError(steps))).toBeLessThan(50);
  });
});
