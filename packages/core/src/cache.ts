import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { LlmIrError } from './errors.ts';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFileAtomic } from './fs-atomic.ts';
import { hashValue, sha256 } from './hash.ts';
import { tryLock } from './lock.ts';

/** What identifies an artifact: the stage that makes it, its version, its options and its inputs. */
export interface CacheKeyParts {
  /** Stage name, e.g. `ocr`. */
  stage: string;
  /** Version of the stage's code or engine; bump it to invalidate old artifacts. */
  version: string | number;
  /** Options that change the output (JSON-serialisable; key order does not matter). */
  options?: unknown;
  /** Input bytes, or hashes of them (strings are taken as already-hashed identifiers). */
  inputs: ReadonlyArray<string | Uint8Array>;
}

/** Hit/miss counters of a cache. */
export interface CacheStats {
  /** Lookups that found an artifact. */
  hits: number;
  /** Lookups that found none. */
  misses: number;
  /** Artifacts written. */
  writes: number;
  /** Stored artifacts that failed their check (torn or damaged files), discarded and recomputed. */
  corrupt: number;
}

/** A content-addressed artifact cache on disk. */
export interface ArtifactCache {
  /** Folder of the cache. */
  readonly dir: string;
  /** The key of an artifact: hex SHA-256 over stage, version, options and input hashes. */
  key(parts: CacheKeyParts): string;
  /** The artifact stored under a key, or undefined. Counts a hit or a miss. */
  get(parts: CacheKeyParts): Promise<Buffer | undefined>;
  /** Stores an artifact (atomic: concurrent writers of one key never leave a torn file). */
  put(parts: CacheKeyParts, data: string | Uint8Array): Promise<void>;
  /**
   * Returns the stored artifact or computes, stores and returns it. Concurrent calls for one key
   * compute once: in this process through a shared promise, across processes through a lock file
   * beside the artifact (a lock left by a killed process goes stale and is taken over). A stored
   * artifact that fails `check` (a file damaged outside the cache's atomic writes) is discarded,
   * reported to `onCorrupt` and computed again (`'json'`: the entry must parse as JSON).
   */
  getOrCompute(parts: CacheKeyParts, compute: () => Promise<string | Uint8Array>, options?: { check?: ((data: Buffer) => boolean) | 'json' }): Promise<Buffer>;
  /** {@link getOrCompute} for JSON values; a stored entry that does not parse is corrupt. */
  getOrComputeJson<T>(parts: CacheKeyParts, compute: () => Promise<T>): Promise<T>;
  /** True when an artifact exists for these parts (does not count as a hit or miss). */
  has(parts: CacheKeyParts): Promise<boolean>;
  /** Counters since the cache was opened. */
  stats(): CacheStats;
}

/** Options of {@link openArtifactCache}. */
export interface ArtifactCacheOptions {
  /** Folder holding the artifacts (created on first write). */
  dir: string;
  /**
   * A `<key>.lock` file whose holder has not touched it for this long is taken as left by a killed
   * process and removed. Holders touch their lock every `staleLockMs / 6`. @default 30000
   */
  staleLockMs?: number;
  /** Told of each stored artifact found damaged (`cache-corrupt`, naming its file) before it is recomputed. */
  onCorrupt?: (error: LlmIrError) => void;
}

/**
 * Opens a content-addressed artifact cache. Keys hash the stage name, stage version, options and
 * input bytes, so an OCR result, an augmented image or an embedding is computed once and reused by
 * every later run. Files live at `<dir>/<stage>/<key[0..2]>/<key>`; writes go through a temporary
 * file and a rename, so two processes writing the same key at once both succeed and a reader never
 * sees half a file.
 *
 * @example
 * ```ts
 * const cache = openArtifactCache({ dir: '.llm-ir-cache' });
 * const lines = await cache.getOrComputeJson({ stage: 'ocr', version: 'paddle-4', inputs: [imageSha] }, () => ocr(image));
 * cache.stats(); // { hits, misses, writes, corrupt }
 * ```
 */
export function openArtifactCache(options: ArtifactCacheOptions): ArtifactCache {
  const dir = options.dir;
  const staleMs = options.staleLockMs ?? 30_000;
  const counters: CacheStats = { hits: 0, misses: 0, writes: 0, corrupt: 0 };
  const pending = new Map<string, Promise<Buffer>>();
  const key = (parts: CacheKeyParts): string =>
    hashValue({
      stage: parts.stage,
      version: String(parts.version),
      options: parts.options ?? null,
      inputs: parts.inputs.map((i) => (typeof i === 'string' ? i : sha256(i))),
    });
  const pathOf = (parts: CacheKeyParts, k: string) => join(dir, safeStage(parts.stage), k.slice(0, 2), k);

  const read = async (parts: CacheKeyParts, k: string, check?: (data: Buffer) => boolean): Promise<Buffer | undefined> => {
    const file = pathOf(parts, k);
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    if (!check || check(data)) return data;
    counters.corrupt++;
    await rm(file, { force: true });
    options.onCorrupt?.(new LlmIrError({ code: 'cache-corrupt', message: `cache entry ${file} (${parts.stage}) is damaged (${data.length} bytes): discarded, computing it again`, file }));
    return undefined;
  };

  const cache: ArtifactCache = {
    dir,
    key,
    async get(parts) {
      const data = await read(parts, key(parts));
      if (data === undefined) counters.misses++;
      else counters.hits++;
      return data;
    },
    async put(parts, data) {
      await writeFileAtomic(pathOf(parts, key(parts)), data);
      counters.writes++;
    },
    async has(parts) {
      try {
        await stat(pathOf(parts, key(parts)));
        return true;
      } catch {
        return false;
      }
    },
    getOrCompute(parts, compute, how = {}) {
      const check = how.check === 'json' ? isJson : how.check;
      const k = key(parts);
      const inFlight = pending.get(k);
      if (inFlight) {
        counters.hits++;
        return inFlight;
      }
      const p = (async () => {
        const found = await read(parts, k, check);
        if (found !== undefined) {
          counters.hits++;
          return found;
        }
        // other processes (parallel turbo tasks, `--jobs`) may want the same artifact: one computes
        // under a lock file, the others wait for its result
        const target = pathOf(parts, k);
        await mkdir(dirname(target), { recursive: true });
        for (;;) {
          const taken = await tryLock(`${target}.lock`, { staleMs });
          if ('holder' in taken) {
            const done = await read(parts, k, check);
            if (done !== undefined) {
              counters.hits++;
              return done;
            }
            await sleep(Math.min(250, staleMs / 10));
            continue;
          }
          try {
            const done = await read(parts, k, check);
            if (done !== undefined) {
              counters.hits++;
              return done;
            }
            counters.misses++;
            const made = await compute();
            const buf = typeof made === 'string' ? Buffer.from(made) : Buffer.from(made.buffer, made.byteOffset, made.byteLength);
            await writeFileAtomic(target, buf);
            counters.writes++;
            return buf;
          } finally {
            await taken.lock.release();
          }
        }
      })().finally(() => pending.delete(k));
      pending.set(k, p);
      return p;
    },
    async getOrComputeJson<T>(parts: CacheKeyParts, compute: () => Promise<T>): Promise<T> {
      const buf = await cache.getOrCompute(parts, async () => JSON.stringify(await compute()), { check: 'json' });
      return JSON.parse(buf.toString('utf8')) as T;
    },
    stats: () => ({ ...counters }),
  };
  return cache;
}

function isJson(data: Buffer): boolean {
  try {
    JSON.parse(data.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

function safeStage(stage: string): string {
  return stage.replace(/[^a-zA-Z0-9._-]/g, '_') || '_';
}
