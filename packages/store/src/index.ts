export { openSqliteDatabase } from "./db/open.js";
export type { MetadataDb } from "./db/open.js";
export { fromJsonColumn, toJsonColumn } from "./db/json.js";
export type { ArtifactTable, Database, ModelVersionTable, RunTable } from "./db/schema.js";
export { isDigest, MemoryHashCache, ObjectStore } from "./objects/index.js";
export type { Digest, FileStat, FsckProblem, FsckReport, GcOptions, GcReport, HashCache, IgnoreFn, ObjectStoreOptions, PutFileOptions, PutTreeOptions, PutTreeResult, TreeEntry, TreeManifest, TreeOptions } from "./objects/index.js";
