export { isDigest } from "./digest.js";
export type { Digest } from "./digest.js";
export { MemoryHashCache } from "./hash-cache.js";
export type { FileStat, HashCache } from "./hash-cache.js";
export type { TreeEntry, TreeManifest } from "./tree.js";
export { ObjectStore } from "./store.js";
export type { FsckProblem, FsckReport, GcOptions, GcReport, ObjectStoreOptions, PutFileOptions, PutTreeOptions, PutTreeResult, TreeOptions } from "./store.js";
export type { IgnoreFn } from "./walk.js";
