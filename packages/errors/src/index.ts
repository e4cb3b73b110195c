export {
  MaelstromError,
  InputError,
  NotFoundError,
  ConflictError,
  StepFailedError,
  CancelledError,
  IntegrityError,
  NotReproducibleError,
  WorkspaceError,
  exitCodeOf,
  toErrorJson,
} from "./errors.js";
export type { ErrorCode, ErrorDetails, ErrorJson, MaelstromErrorOptions } from "./errors.js";
