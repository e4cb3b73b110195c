/**
 * Stable error codes. Clients and scripts match on these, never on messages.
 * Each code belongs to one error class; the class decides the CLI exit code.
 */
export type ErrorCode =
  | "INPUT_INVALID"
  | "MANIFEST_INVALID"
  | "PARAMETER_INVALID"
  | "REFERENCE_INVALID"
  | "BUNDLE_INVALID"
  | "GRAPH_INVALID"
  | "RESOURCES_EXCEEDED"
  | "NOT_FOUND"
  | "CONFLICT"
  | "WORKSPACE_NOT_FOUND"
  | "WORKSPACE_INVALID"
  | "STEP_FAILED"
  | "CANCELLED"
  | "RUN_INTERRUPTED"
  | "NOT_REPRODUCIBLE"
  | "INTEGRITY"
  | "INTERNAL";

/** Structured facts about an error: file, line, step id, field, expected value... */
export type ErrorDetails = Readonly<Record<string, string | number | boolean | null | readonly string[]>>;

export interface MaelstromErrorOptions {
  readonly details?: ErrorDetails;
  readonly cause?: unknown;
}

export interface ErrorJson {
  readonly code: ErrorCode;
  readonly name: string;
  readonly message: string;
  readonly details: ErrorDetails;
}

export class MaelstromError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;
  /** Process exit code the CLI uses for this class of error. */
  readonly exitCode: number = 1;

  constructor(code: ErrorCode, message: string, options: MaelstromErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details ?? {};
  }
}

/** The user gave something malformed: a manifest, a parameter, a reference, a bundle, a step graph. Exit 2. */
export class InputError extends MaelstromError {
  override readonly exitCode = 2;
  constructor(
    message: string,
    options: MaelstromErrorOptions & {
      code?: Extract<ErrorCode, "INPUT_INVALID" | "MANIFEST_INVALID" | "PARAMETER_INVALID" | "REFERENCE_INVALID" | "BUNDLE_INVALID" | "GRAPH_INVALID" | "RESOURCES_EXCEEDED">;
    } = {},
  ) {
    super(options.code ?? "INPUT_INVALID", message, options);
  }
}

/** A named thing (artifact, model, run, object, path) does not exist. Exit 3. */
export class NotFoundError extends MaelstromError {
  override readonly exitCode = 3;
  constructor(message: string, options: MaelstromErrorOptions = {}) {
    super("NOT_FOUND", message, options);
  }
}

/** No workspace where one was expected, or a broken one. Exit 3. */
export class WorkspaceError extends MaelstromError {
  override readonly exitCode = 3;
  constructor(message: string, options: MaelstromErrorOptions & { code?: "WORKSPACE_NOT_FOUND" | "WORKSPACE_INVALID" } = {}) {
    super(options.code ?? "WORKSPACE_NOT_FOUND", message, options);
  }
}

/** The operation contradicts existing state (an alias exists, a run is not resumable, ...). Exit 5. */
export class ConflictError extends MaelstromError {
  override readonly exitCode = 5;
  constructor(message: string, options: MaelstromErrorOptions = {}) {
    super("CONFLICT", message, options);
  }
}

/** A step's user code failed: threw, exited non-zero, was killed, returned the wrong thing. Exit 4. */
export class StepFailedError extends MaelstromError {
  override readonly exitCode = 4;
  constructor(message: string, options: MaelstromErrorOptions = {}) {
    super("STEP_FAILED", message, options);
  }
}

/** The user cancelled (Ctrl-C) or a timeout ended the work. Exit 130. */
export class CancelledError extends MaelstromError {
  override readonly exitCode = 130;
  constructor(message: string, options: MaelstromErrorOptions = {}) {
    super("CANCELLED", message, options);
  }
}

/** Stored content does not match its digest. Exit 6. */
export class IntegrityError extends MaelstromError {
  override readonly exitCode = 6;
  constructor(message: string, options: MaelstromErrorOptions = {}) {
    super("INTEGRITY", message, options);
  }
}

/** Re-executing a run gave outputs that differ from the original. Exit 7. */
export class NotReproducibleError extends MaelstromError {
  override readonly exitCode = 7;
  constructor(message: string, options: MaelstromErrorOptions = {}) {
    super("NOT_REPRODUCIBLE", message, options);
  }
}

/** Exit code for any thrown value: a MaelstromError's own, 1 for anything unexpected. */
export function exitCodeOf(error: unknown): number {
  return error instanceof MaelstromError ? error.exitCode : 1;
}

export function toErrorJson(error: unknown): ErrorJson {
  if (error instanceof MaelstromError) {
    return { code: error.code, name: error.name, message: error.message, details: error.details };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: "INTERNAL", name: "InternalError", message, details: {} };
}
