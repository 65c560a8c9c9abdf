import type { ArtifactCache } from './cache.ts';
import type { LlmIrError } from './errors.ts';
import type { ProgressCallback } from './progress.ts';

/**
 * What every pipeline stage gets from the run it is part of. A stage is a function of the packages
 * (`ocrSplits`, `augmentStage`, `trainStudentStage`, ...) taking this context first: it builds its own
 * cache keys from what changes its output, reports progress, records every row or image it skips
 * through `onError` and carries on.
 */
export interface StageContext {
  /** Content-addressed artifact cache shared by the stages (and by runs and processes). */
  cache: ArtifactCache;
  /** Seed of the run: the same seed, inputs and settings give byte-identical outputs. */
  seed: number;
  /** Folder of the run: a stage that writes files uses a sub-folder named after it. */
  outDir: string;
  /** Progress events, one stage name per stage. */
  onProgress?: ProgressCallback;
  /** One line for a person (what a stage did, with counts). */
  log?: (line: string) => void;
  /** A row or image a stage skipped, with its reason (a run records it in `errors.jsonl`). */
  onError?: (error: LlmIrError) => void | Promise<void>;
  /** Cancels the stage. */
  signal?: AbortSignal;
}

/** A pipeline stage: `(ctx, input) => output`, e.g. rows in, rows out, or rows in, predictions out. */
export type Stage<In, Out> = (ctx: StageContext, input: In) => Promise<Out>;
