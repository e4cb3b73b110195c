import { InputError } from "@maelstrom/errors";
import { expect } from "vitest";
import { parseManifest } from "./manifest/manifest.js";

/** For tests: the InputError that `run` throws; fails the test when it returns or throws something else. */
export function thrownInputError(run: () => unknown): InputError {
  const thrown = ((): unknown => {
    try {
      return run();
    } catch (error) {
      return error;
    }
  })();
  expect(thrown).toBeInstanceOf(InputError);
  return thrown as InputError;
}

/** The file name manifest tests parse under; every located message starts with it. */
export const FILE = "examples/x/maelstrom.yaml";

export function manifestError(text: string): InputError {
  return thrownInputError(() => parseManifest(text, FILE));
}

/** The error names file, line, column and field, and says what was expected. */
export function expectManifestError(text: string, line: number, column: number, field: string, expected: string): void {
  const error = manifestError(text);
  expect(error.code).toBe("MANIFEST_INVALID");
  expect(error.message).toContain(`${FILE}:${line}:${column}: field '${field}': `);
  expect(error.message).toContain(expected);
  expect(error.details).toEqual({ file: FILE, line, column, field });
}
