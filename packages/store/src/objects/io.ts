import { createHash } from "node:crypto";
import type { FileHandle } from "node:fs/promises";

/**
 * Buffer size for streaming. Measured on a 1 GiB file (README.md): 512 KiB buffers stay in the CPU
 * cache between read, hash and write, and spend ~3x less kernel time than 8 MiB ones, whose copies
 * miss the cache. Files smaller than this are read into memory in one go.
 */
export const CHUNK_SIZE = 512 * 1024;

// Reused chunk buffers: allocating (and page-faulting) 8 MiB per file costs more than hashing a small file.
const POOL_LIMIT = 16;
const pool: Buffer[] = [];

export function acquireChunk(): Buffer {
  return pool.pop() ?? Buffer.allocUnsafeSlow(CHUNK_SIZE);
}

export function releaseChunk(buffer: Buffer): void {
  if (pool.length < POOL_LIMIT && buffer.length === CHUNK_SIZE) pool.push(buffer);
}

/** Fills `buffer` from `position` unless the file ends first; returns the bytes read (< length only at end of file). */
export async function readFull(handle: FileHandle, buffer: Buffer, position: number): Promise<number> {
  let offset = 0;
  while (offset < buffer.length) {
    const { bytesRead } = await handle.read(buffer, offset, buffer.length - offset, position + offset);
    if (bytesRead === 0) break;
    offset += bytesRead;
  }
  return offset;
}

async function writeFull(handle: FileHandle, data: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset, null);
    offset += bytesWritten;
  }
}

/** A promise whose rejection is handled later by whoever awaits it (avoids an unhandled-rejection crash meanwhile). */
function deferred<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

export interface PumpResult {
  readonly hex: string;
  readonly size: number;
}

/**
 * Hashes a whole file from offset 0 and, if `sink` is given, writes the same bytes there in the
 * same pass, so the stored object is by construction exactly the bytes that were hashed.
 * Pipelined: while the main thread hashes chunk i, the thread pool reads chunk i+1 and writes chunk i-1.
 * `first`, if given, is a pooled chunk already holding the file's first CHUNK_SIZE bytes (the caller
 * peeked to decide small vs large); pumpFile takes ownership and returns it to the pool.
 */
export async function pumpFile(handle: FileHandle, sink?: FileHandle, first?: Buffer): Promise<PumpResult> {
  const hash = createHash("sha256");
  const count = sink === undefined ? 2 : 3;
  const buffers: Buffer[] = [first ?? acquireChunk()];
  while (buffers.length < count) buffers.push(acquireChunk());
  let reading: Promise<number> = first === undefined ? deferred(readFull(handle, buffers[0] as Buffer, 0)) : Promise.resolve(first.length);
  let writing: Promise<void> = Promise.resolve();
  let position = 0;
  let index = 0;
  try {
    for (;;) {
      const length = await reading;
      if (length === 0) break;
      const current = (buffers[index % count] as Buffer).subarray(0, length);
      position += length;
      index += 1;
      // With `count` buffers the next one is neither being hashed nor being written.
      const next = buffers[index % count] as Buffer;
      reading = length < CHUNK_SIZE ? Promise.resolve(0) : deferred(readFull(handle, next, position));
      hash.update(current);
      if (sink !== undefined) {
        await writing;
        writing = deferred(writeFull(sink, current));
      }
    }
    await writing;
  } finally {
    // Let in-flight I/O settle before the buffers can be handed to another file.
    await Promise.allSettled([reading, writing]);
    for (const buffer of buffers) releaseChunk(buffer);
  }
  return { hex: hash.digest("hex"), size: position };
}

/**
 * Runs `fn` over `items` with at most `limit` in flight; results keep the input order.
 * On failure it stops starting new items, waits for the running ones, then throws the first error,
 * so the caller's cleanup never races with work still in progress.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const index = next;
      next += 1;
      try {
        results[index] = await fn(items[index] as T, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
  return results;
}

export function errnoOf(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null && "code" in error && typeof error.code === "string") return error.code;
  return undefined;
}
