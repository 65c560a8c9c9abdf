/** Progress of a long-running stage. `completed` never decreases; each stage ends exactly once. */
export type ProgressEvent =
  | { type: 'stage-start'; stage: string; total?: number; unit: string }
  | { type: 'stage-progress'; stage: string; completed: number; total?: number; unit: string }
  | { type: 'stage-end'; stage: string; completed: number; total?: number; unit: string; ms: number; failed?: number };

/** A progress callback. It must not throw; if it does, the error is swallowed so work goes on. */
export type ProgressCallback = (event: ProgressEvent) => void;

/** A reporter for one stage: call `advance` as items finish, `end` once. */
export interface ProgressReporter {
  /** Adds `n` finished items (default 1) and emits a `stage-progress` event. */
  advance(n?: number): void;
  /** Counts a failed item (it still advances). */
  fail(n?: number): void;
  /** Emits `stage-end` (only the first call does anything). */
  end(): void;
  /** Items finished so far. */
  readonly completed: number;
}

/**
 * Starts reporting a stage to `onProgress` (which may be undefined): emits `stage-start` now,
 * `stage-progress` on each advance and one `stage-end`. Callback errors never reach the caller.
 *
 * @example
 * ```ts
 * const p = startProgress('ocr', onProgress, { total: images.length, unit: 'image' });
 * for (const img of images) { await ocr(img); p.advance(); }
 * p.end();
 * ```
 */
export function startProgress(
  stage: string,
  onProgress: ProgressCallback | undefined,
  options: { total?: number; unit?: string } = {},
): ProgressReporter {
  const unit = options.unit ?? 'item';
  const started = performance.now();
  let completed = 0;
  let failed = 0;
  let ended = false;
  const emit = (e: ProgressEvent) => {
    if (!onProgress) return;
    try {
      onProgress(e);
    } catch {
      // progress display must never break the pipeline
    }
  };
  const totalField = options.total === undefined ? {} : { total: options.total };
  emit({ type: 'stage-start', stage, unit, ...totalField });
  return {
    advance(n = 1) {
      if (ended || n <= 0) return;
      completed += n;
      emit({ type: 'stage-progress', stage, completed, unit, ...totalField });
    },
    fail(n = 1) {
      failed += n;
      this.advance(n);
    },
    end() {
      if (ended) return;
      ended = true;
      emit({ type: 'stage-end', stage, completed, unit, ms: performance.now() - started, ...totalField, ...(failed > 0 ? { failed } : {}) });
    },
    get completed() {
      return completed;
    },
  };
}
