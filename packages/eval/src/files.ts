import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { LlmIrError, loadSamples, readPredictionsJsonl, readSubmissionCsv, type Sample } from '@llm-ir/core';
import type { GoldRow, PredictedRow } from './score.ts';

/**
 * Reads gold rows (id, task, label) from a challenge JSON or JSONL file. Only labels are needed:
 * images are never opened.
 *
 * @throws {LlmIrError} `invalid-format` naming the first bad row when a row cannot be read or has
 * no label; `io` when the file cannot be read.
 */
export async function loadGold(path: string): Promise<{ gold: GoldRow[]; samples: Sample[] }> {
  const { samples, errors } = await loadSamples(path);
  if (errors.length) throw errors[0]!;
  const unlabelled = samples.find((s) => s.label === undefined);
  if (unlabelled) throw new LlmIrError({ code: 'invalid-format', message: 'gold row has no label (output is empty)', file: path, id: unlabelled.id });
  return { gold: samples.map((s) => ({ id: s.id, task: s.task, label: s.label! })), samples };
}

/**
 * Reads predictions from a submission CSV (`id,predict`) or a predictions JSONL
 * (`{id, task, label, probs?}`), by extension.
 *
 * @throws {LlmIrError} naming file and row for the first malformed row; `predictions-empty` when
 * the file holds no prediction (0 bytes, or a header only).
 */
export async function loadPredictions(path: string): Promise<PredictedRow[]> {
  const out: PredictedRow[] = [];
  if (extname(path).toLowerCase() === '.csv') {
    if ((await stat(path).catch(() => undefined))?.size === 0) throw new LlmIrError({ code: 'predictions-empty', message: 'predictions file is empty (0 bytes)', file: path });
    for await (const r of readSubmissionCsv(path)) {
      if (!r.ok) throw r.error;
      out.push({ id: r.value.id, label: r.value.predict });
    }
  } else {
    for await (const r of readPredictionsJsonl(path)) {
      if (!r.ok) throw r.error;
      out.push({ id: r.value.id, label: r.value.label });
    }
  }
  if (out.length === 0) throw new LlmIrError({ code: 'predictions-empty', message: 'predictions file holds no prediction', file: path });
  return out;
}
