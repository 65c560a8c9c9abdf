import { LlmIrError } from './errors.ts';

/** Which part of a dataset one process handles: shard `index` of `count` (0-based), as `--shard i/n`. */
export interface Shard {
  /** This shard, 0-based. */
  index: number;
  /** Number of shards. */
  count: number;
}

/**
 * Parses `i/n` (0-based `i`, as in `--shard 2/8` for the third of eight SLURM array tasks).
 *
 * @throws {LlmIrError} `config-invalid` for anything else.
 */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : Number.NaN;
  const count = m ? Number(m[2]) : Number.NaN;
  if (!m || count < 1 || index >= count) {
    throw new LlmIrError({ code: 'config-invalid', message: `shard must be i/n with 0 <= i < n, got ${JSON.stringify(text)}` });
  }
  return { index, count };
}

/** True when the item at `position` (in a stable order) belongs to the shard (round robin); always true without a shard. */
export function inShard(position: number, shard?: Shard): boolean {
  return shard === undefined || position % shard.count === shard.index;
}
