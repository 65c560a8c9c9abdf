import { join } from 'node:path';
import type { Prediction, Sample, StageContext } from '@llm-ir/core';
import { toRunSummary, type CheckpointScore, type RunSummary } from './ablation.ts';
import { writeReport } from './report.ts';
import { scoreChallenge, type ChallengeScore, type PredictedRow } from './score.ts';
import { errorSlices } from './slices.ts';

/** What {@link scoreStage} scores: a system's predictions of labelled rows. */
export interface ScoreStageInput {
  /** Name of the system (the arm): `summary.arm`, the report's title. */
  name: string;
  /** A line under the report's title. */
  description?: string;
  /** The rows with their gold labels (rows without one are not scored). */
  labelled: readonly Sample[];
  /** The predictions scored (the submission). */
  predictions: readonly Prediction[];
  /** On/off switches of the arm (`summary.factors`, for the factorial effects). */
  factors?: Record<string, boolean>;
  /** Predictions of every checkpoint, in training order (Table 1's epochs; the last is usually `predictions`). */
  checkpoints?: ReadonlyArray<{ epoch?: number; step?: number; predictions: readonly PredictedRow[] }>;
}

/**
 * The scoring stage of a pipeline: the challenge score of the predictions (per task, pooled, with
 * `options.resamples` bootstrap resamples, default 1000, seeded by `ctx.seed`), the run summary, and
 * `report.html` in `ctx.outDir` (headline, per-class tables, confusion heatmaps, error slices; titled
 * `options.title`, default `llm-ir arm <name>`). With two or more checkpoints, each is scored (point
 * values) into `summary.checkpoints` and the report's score per epoch (one checkpoint is the
 * submission itself, and adds nothing). Gold labels are read here only: nothing upstream sees them.
 *
 * @example
 * ```ts
 * const { summary } = await scoreStage(ctx, { name: 'full', labelled, predictions });
 * ```
 */
export async function scoreStage(ctx: StageContext, input: ScoreStageInput, options: { resamples?: number; title?: string } = {}): Promise<{ score: ChallengeScore; summary: RunSummary }> {
  const rows = input.labelled.filter((s) => s.label !== undefined);
  const gold = rows.map((s) => ({ id: s.id, task: s.task, label: s.label! }));
  const checkpoints: CheckpointScore[] = (input.checkpoints ?? []).map((c) => {
    const s = scoreChallenge(gold, c.predictions, { resamples: 0 });
    return { ...(c.epoch !== undefined ? { epoch: c.epoch } : {}), ...(c.step !== undefined ? { step: c.step } : {}), scene: s.scene.weightedF1, intent: s.intent.weightedF1, average: s.average };
  });
  const score = scoreChallenge(gold, input.predictions, { resamples: options.resamples ?? 1000, seed: ctx.seed });
  const summary = toRunSummary(input.name, score, { ...(input.factors ? { factors: input.factors } : {}), ...(checkpoints.length > 1 ? { checkpoints } : {}) });
  await writeReport(join(ctx.outDir, 'report.html'), {
    title: options.title ?? `llm-ir arm ${input.name}`,
    subtitle: input.description ?? '',
    score,
    slices: errorSlices(rows, input.predictions),
    ...(checkpoints.length > 1 ? { runs: [{ ...summary, dir: ctx.outDir }], baseline: input.name } : {}),
  });
  return { score, summary };
}
