import { InputError } from "@maelstrom/errors";
import { expect } from "vitest";

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
