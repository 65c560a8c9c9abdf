import { join } from 'node:path';
import type { Prediction, ProgressCallback, Sample } from '@llm-ir/core';
import { createStudent, type StudentOptions } from '@llm-ir/distill';
import type { ArmConfig } from './arm.ts';

/** Removes OCR from samples (for the arms that have none at training or at inference). */
export function withoutOcr(samples: readonly Sample[]): Sample[] {
  return samples.map(({ ocr: _o, ...s }) => s);
}

/**
 * The `cpu` backend: the same arm trains distill's CPU student instead of a LoRA, so every arm runs
 * on a laptop and in CI. OCR reaches the student at training when `arm.ocr.train` and at inference
 * when `arm.ocr.infer` (samples carry OCR from `@llm-ir/ocr`'s `ocrDataset`); soft labels from
 * `arm.distill.soft` rows train it with the distillation loss. Saves `student.json` in `outDir`.
 */
export async function trainCpuArm(arm: ArmConfig, options: { train: readonly Sample[]; test?: readonly Sample[]; outDir: string; imagesDir?: string; soft?: ReadonlyMap<string, Record<string, number>>; student?: StudentOptions; onProgress?: ProgressCallback; signal?: AbortSignal }): Promise<{ modelPath: string; predictions?: Prediction[] }> {
  const train = arm.ocr.train ? [...options.train] : withoutOcr(options.train);
  const student = createStudent({ seed: arm.train.seed, ...options.student, features: { ...options.student?.features, ...(options.imagesDir ? { imagesDir: options.imagesDir } : {}) } });
  await student.fitWithSoft(train, options.soft ?? new Map(), { ...(options.onProgress ? { onProgress: options.onProgress } : {}), ...(options.signal ? { signal: options.signal } : {}) });
  const modelPath = join(options.outDir, 'student.json');
  await student.save(modelPath);
  if (!options.test) return { modelPath };
  const test = arm.ocr.infer ? [...options.test] : withoutOcr(options.test);
  return { modelPath, predictions: await student.predictProba(test) };
}
