import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { thrownInputError } from "../test-support.js";
import { commandPlaceholders, renderCommand, scanCommand } from "./command.js";

const NONE = { params: {}, inputs: {}, outputs: {} };


describe("commandPlaceholders", () => {
  it("lists each name once per kind, in order of first use", () => {
    const command = "cdo -f nc4 remapbil,{params.grid} {inputs.data}/t2m.nc {outputs.data}/t2m.nc && cp {inputs.mask} {inputs.data} {params.grid}";
    expect(commandPlaceholders(command)).toEqual({ params: ["grid"], inputs: ["data", "mask"], outputs: ["data"] });
  });

  it("reads {{ and }} as literal braces", () => {
    expect(commandPlaceholders("awk '{{print $1}}' {inputs.data}/x.csv ${{HOME}} {{{params.a}}}")).toEqual({ params: ["a"], inputs: ["data"], outputs: [] });
    expect(commandPlaceholders("echo {{params.a}}")).toEqual({ params: [], inputs: [], outputs: [] });
  });

  it.each([
    ["a lone '{'", "echo {params.a", 5, 1, "'{' at character 6 is not closed; expected {params.NAME}, {inputs.NAME} or {outputs.NAME}, and {{ or }} for a literal brace"],
    ["a '{' closed only after another '{'", "cp {inputs.data {outputs.data}", 3, 1, "'{' at character 4 is not closed"],
    ["a lone '}'", "echo a}", 6, 1, "'}' at character 7 is not part of a placeholder; expected {params.NAME}"],
    ["a '}' after a placeholder", "echo {params.a}}", 15, 1, "'}' at character 16 is not part of a placeholder"],
    ["shell braces", "awk '{print $1}'", 5, 10, "'{print $1}' at character 6 is not a placeholder; expected {params.NAME}, {inputs.NAME} or {outputs.NAME}, and {{ or }} for a literal brace"],
    ["empty braces", "echo {}", 5, 2, "'{}' at character 6 is not a placeholder"],
    ["no kind", "echo {grid}", 5, 6, "'{grid}' at character 6 is not a placeholder"],
    ["a misspelt kind", "echo {param.grid}", 5, 12, "'{param.grid}' at character 6: unknown placeholder kind 'param' (did you mean 'params'?); expected {params.NAME}"],
    ["an unknown kind", "echo {env.HOME}", 5, 10, "'{env.HOME}' at character 6: unknown placeholder kind 'env'; expected"],
    ["a bad name", "echo {inputs.1x}", 5, 11, "'{inputs.1x}' at character 6: expected a name matching [A-Za-z_][A-Za-z0-9_]* after 'inputs.'"],
    ["no name", "echo {outputs.}", 5, 10, "'{outputs.}' at character 6: expected a name matching"],
    ["a dotted name", "echo {params.a.b}", 5, 12, "'{params.a.b}' at character 6: expected a name matching"],
  ])("refuses %s", (_title, command, offset, length, message) => {
    expect(scanCommand(command)).toEqual({ parts: null, problem: { offset, length, message: expect.stringContaining(message) } });
    const error = thrownInputError(() => commandPlaceholders(command));
    expect(error.code).toBe("INPUT_INVALID");
    expect(error.message).toContain(`invalid command: ${message}`);
    expect(error.details).toEqual({ offset });
  });
});

describe("renderCommand", () => {
  it("substitutes each placeholder as one single-quoted word and unescapes braces", () => {
    const rendered = renderCommand("cdo remapbil,{params.grid} {inputs.data}/t2m.nc {outputs.data}/t2m.nc # {{x}} n={params.n} {params.on}", {
      params: { grid: "r360x180", n: 0.5, on: false },
      inputs: { data: "/work/in" },
      outputs: { data: "/work/out dir" },
    });
    expect(rendered).toBe("cdo remapbil,'r360x180' '/work/in'/t2m.nc '/work/out dir'/t2m.nc # {x} n='0.5' 'false'");
  });

  it("writes a single quote as '\\''", () => {
    expect(renderCommand("echo {params.v}", { ...NONE, params: { v: "it's" } })).toBe("echo 'it'\\''s'");
    expect(renderCommand("echo {params.v}", { ...NONE, params: { v: "" } })).toBe("echo ''");
  });

  it("names a placeholder without a value and the names given", () => {
    const error = thrownInputError(() => renderCommand("cp {inputs.data} {outputs.data}", { ...NONE, inputs: { data: "/in" }, outputs: { result: "/out" } }));
    expect(error.code).toBe("INPUT_INVALID");
    expect(error.message).toBe("command placeholder {outputs.data} has no value; outputs given: result");
    expect(thrownInputError(() => renderCommand("echo {params.x}", NONE)).message).toBe("command placeholder {params.x} has no value; params given: none");
  });

  it("does not take inherited properties for values", () => {
    expect(thrownInputError(() => renderCommand("echo {params.toString}", NONE)).message).toContain("{params.toString} has no value");
  });

  it("refuses a NUL character, which no shell word can hold", () => {
    expect(thrownInputError(() => renderCommand("echo {params.v}", { ...NONE, params: { v: "a\0b" } })).message).toContain("contains a NUL character");
  });

  it("refuses a malformed command", () => {
    expect(thrownInputError(() => renderCommand("echo {x}", NONE)).message).toContain("invalid command: '{x}' at character 6 is not a placeholder");
  });
});

describe("renderCommand with a real /bin/sh", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "maelstrom-command-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const hostile = [
    "$(touch pwned-subshell)",
    "`touch pwned-backtick`",
    "a; touch pwned-semicolon",
    "a | touch pwned-pipe",
    "a && touch pwned-and || touch pwned-or",
    "> pwned-redirect",
    "it's \"quoted\" 'twice'",
    "'; touch pwned-quote; echo '",
    "'\\''",
    "line one\nline two\ntouch pwned-newline",
    "  spaces   inside  ",
    "*",
    "?[a-z]*",
    "~",
    "$HOME ${HOME} $0 $@",
    "\\n \\ back\\slash\\",
    "{params.v} {{}}",
    "-n",
    "",
    "é ✓ 🌀",
  ];

  it.each(hostile)("passes %j through verbatim and creates no file", async (value) => {
    const rendered = renderCommand("printf %s {params.v}", { ...NONE, params: { v: value } });
    const output = execFileSync("/bin/sh", ["-c", rendered], { cwd: dir, encoding: "utf8" });
    expect(output).toBe(value);
    expect(await readdir(dir)).toEqual([]);
  });

  it("keeps each value one argument and creates no file", async () => {
    const rendered = renderCommand("for arg in {inputs.a} {outputs.b} {params.c}; do printf '[%s]' \"$arg\"; done", {
      params: { c: "x; touch pwned-c" },
      inputs: { a: "dir with spaces/$(touch pwned-a)" },
      outputs: { b: "*" },
    });
    const output = execFileSync("/bin/sh", ["-c", rendered], { cwd: dir, encoding: "utf8" });
    expect(output).toBe("[dir with spaces/$(touch pwned-a)][*][x; touch pwned-c]");
    expect(await readdir(dir)).toEqual([]);
  });
});
