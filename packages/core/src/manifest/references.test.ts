import { InputError } from "@maelstrom/errors";
import { describe, expect, it } from "vitest";
import { formatArtifactRef, formatModelRef, isValidName, parseArtifactRef, parseModelRef } from "./references.js";

function referenceError(parse: () => unknown): InputError {
  try {
    parse();
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error("expected an InputError");
}

describe("isValidName", () => {
  it.each(["seattle-weather", "a", "0", "model.v2", "my_model", "group/name", "ocean/sst-forecast", "a".repeat(128)])(
    "accepts %s",
    (name) => expect(isValidName(name)).toBe(true),
  );
  it.each(["", "Seattle", "-model", ".model", "_model", "a/b/c", "a/", "/a", "a b", "a:b", "a@b", "ä", "a".repeat(129)])(
    "rejects %j",
    (name) => expect(isValidName(name)).toBe(false),
  );
});

describe("parseArtifactRef", () => {
  it.each([
    ["transform", { name: "transform", tag: "latest" }],
    ["transform:v2", { name: "transform", tag: "v2" }],
    ["group/model:2024-01_rc.1", { name: "group/model", tag: "2024-01_rc.1" }],
    ["model@sha256:abcd12", { name: "model", digestPrefix: "sha256:abcd12" }],
    ["model@sha256:ABCDEF0123", { name: "model", digestPrefix: "sha256:abcdef0123" }],
    ["group/model@sha256:" + "a".repeat(64), { name: "group/model", digestPrefix: "sha256:" + "a".repeat(64) }],
  ])("%s", (text, ref) => {
    expect(parseArtifactRef(text)).toEqual(ref);
  });

  it.each([
    ["Model", "not a valid reference", "expected an artifact reference like name, name:tag or name@sha256:"],
    ["", "not a valid reference", "expected an artifact reference"],
    [":v1", "the name is empty", "expected a name matching [a-z0-9][a-z0-9._-]*"],
    ["model:", "invalid tag ''", "expected a tag matching"],
    ["model:v 1", "invalid tag 'v 1'", "expected a tag matching"],
    ["model@sha256:abc", "'sha256:abc' is not a digest", "at least 6 digits"],
    ["model@sha256:xyzxyzxyz", "is not a digest", "at least 6 digits"],
    ["model@abcdef12", "is not a digest", "sha256:"],
    ["Bad Name:v1", "invalid name 'Bad Name'", "expected a name matching"],
  ])("rejects %j", (text, problem, expected) => {
    const error = referenceError(() => parseArtifactRef(text));
    expect(error.code).toBe("REFERENCE_INVALID");
    expect(error.message).toContain(`invalid reference '${text}'`);
    expect(error.message).toContain(problem);
    expect(error.message).toContain(expected);
    expect(error.details["reference"]).toBe(text);
  });

  it.each(["transform:latest", "transform:v2", "group/model:rc1", "model@sha256:abcdef12", "a.b_c-d@sha256:0123456789"])(
    "round-trips %s",
    (text) => {
      expect(formatArtifactRef(parseArtifactRef(text))).toBe(text);
      expect(parseArtifactRef(formatArtifactRef(parseArtifactRef(text)))).toEqual(parseArtifactRef(text));
    },
  );

  it("formats a bare name with its implied tag", () => {
    expect(formatArtifactRef(parseArtifactRef("transform"))).toBe("transform:latest");
  });
});

describe("parseModelRef", () => {
  it.each([
    ["classifier/3", { name: "classifier", version: 3 }],
    ["group/classifier/12", { name: "group/classifier", version: 12 }],
    ["classifier@production", { name: "classifier", alias: "production" }],
    ["group/classifier@staging", { name: "group/classifier", alias: "staging" }],
    ["classifier", { name: "classifier", alias: "latest" }],
    ["group/classifier", { name: "group/classifier", alias: "latest" }],
  ])("%s", (text, ref) => {
    expect(parseModelRef(text)).toEqual(ref);
  });

  it.each([
    ["classifier/0", "invalid version '0'", "a version number >= 1"],
    ["classifier:v1", "models are not tagged with ':'", "name/3 (version), name@production (alias)"],
    ["classifier@", "invalid alias ''", "expected an alias"],
    ["Classifier/3", "invalid name 'Classifier'", "expected a name matching"],
    ["a/b/c", "not a valid reference", "expected a model reference like name/3"],
    ["/3", "the name is empty", "expected a name"],
  ])("rejects %j", (text, problem, expected) => {
    const error = referenceError(() => parseModelRef(text));
    expect(error.code).toBe("REFERENCE_INVALID");
    expect(error.message).toContain(`invalid reference '${text}'`);
    expect(error.message).toContain(problem);
    expect(error.message).toContain(expected);
  });

  it.each(["classifier/3", "group/classifier/12", "classifier@production", "classifier@latest"])("round-trips %s", (text) => {
    expect(formatModelRef(parseModelRef(text))).toBe(text);
  });
});
