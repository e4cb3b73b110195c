import { hostname } from "node:os";
import type { MetadataDb, ObjectStore } from "@maelstrom/store";
import type { WorkspacePaths } from "./workspace.js";

/** What every engine operation works against: one open workspace. */
export interface EngineContext {
  readonly db: MetadataDb;
  readonly objects: ObjectStore;
  readonly paths: WorkspacePaths;
}

export const thisHost = hostname();
