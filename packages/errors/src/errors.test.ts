import { describe, expect, it } from "vitest";
import { InputError, MaelstromError, NotFoundError, exitCodeOf, toErrorJson } from "./index.js";

describe("errors", () => {
  it("carry a stable code, details and cause", () => {
    const cause = new Error("disk");
    const error = new InputError("bad manifest", { code: "MANIFEST_INVALID", details: { file: "a.yaml", line: 3 }, cause });
    expect(error).toBeInstanceOf(MaelstromError);
    expect(error.name).toBe("InputError");
    expect(error.code).toBe("MANIFEST_INVALID");
    expect(error.details).toEqual({ file: "a.yaml", line: 3 });
    expect(error.cause).toBe(cause);
    expect(toErrorJson(error)).toEqual({
      code: "MANIFEST_INVALID",
      name: "InputError",
      message: "bad manifest",
      details: { file: "a.yaml", line: 3 },
    });
  });

  it("map to distinct exit codes", () => {
    expect(exitCodeOf(new InputError("x"))).toBe(2);
    expect(exitCodeOf(new NotFoundError("x"))).toBe(3);
    expect(exitCodeOf(new Error("x"))).toBe(1);
    expect(toErrorJson("boom").code).toBe("INTERNAL");
  });
});
