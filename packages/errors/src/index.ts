export {
  MaelstromError,
  InputError,
  NotFoundError,
  ConflictError,
  StepFailedError,
  CancelledError,
  IntegrityError,
  WorkspaceError,
  exitCodeOf,
  toErrorJson,
} from "./errors.js";
export type { ErrorCode, ErrorDetails, ErrorJson, MaelstromErrorOptions } from "./errors.js";
