import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { stringify as stringifyCsv } from 'csv-stringify/sync';
import { LlmIrError } from '@llm-ir/core';
import type { ChallengeScore, TaskScore } from './score.ts';

/** One evaluated checkpoint (or epoch) of a run. */
export interface CheckpointScore {
  /** Epoch (may be fractional: 3.5), when known. */
  epoch?: number;
  /** Training step, when known. */
  step?: number;
  /** Scene weighted F1 in [0, 1]. */
  scene: number;
  /** Intent weighted F1 in [0, 1]. */
  intent: number;
  /** Mean of the two. */
  average: number;
}

/**
 * The `summary.json` an evaluated run leaves (see DESIGN.md): final scores, optional per-checkpoint
 * scores, and the factors (switches) of its arm for component-effect analysis.
 */
export interface RunSummary {
  /** Configuration (arm) name. */
  arm: string;
  /** Final scene score. */
  scene: Partial<TaskScore> & { weightedF1: number };
  /** Final intent score. */
  intent: Partial<TaskScore> & { weightedF1: number };
  /** Final headline. */
  average: number;
  /** Interval of the headline. */
  averageCi95?: [number, number] | null;
  /** Pooled score. */
  pooled?: Partial<TaskScore> & { weightedF1: number };
  /** Scores per checkpoint, when the run evaluated several. */
  checkpoints?: CheckpointScore[];
  /** On/off switches of the arm. */
  factors?: Record<string, boolean>;
}

/** Builds a run's `summary.json` content from a challenge score. */
export function toRunSummary(arm: string, score: ChallengeScore, extra: { checkpoints?: CheckpointScore[]; factors?: Record<string, boolean> } = {}): RunSummary {
  const { reports: _r, ...rest } = score;
  return {
    arm,
    scene: rest.scene,
    intent: rest.intent,
    average: rest.average,
    averageCi95: rest.averageCi95,
    pooled: rest.pooled,
    ...(extra.checkpoints ? { checkpoints: extra.checkpoints } : {}),
    ...(extra.factors ? { factors: extra.factors } : {}),
  };
}

/** A run as the ablation tables see it. */
export interface RunResult extends RunSummary {
  /** Folder it was read from. */
  dir?: string;
}

/**
 * Reads runs' `summary.json` files. The arm name comes from the summary, else from `run.json`'s
 * config (`arm` or `name`), else from the folder name.
 *
 * @throws {LlmIrError} `io` naming the folder when a summary is missing or malformed.
 */
export async function readRunResults(dirs: readonly string[]): Promise<RunResult[]> {
  const out: RunResult[] = [];
  for (const dir of dirs) {
    let summary: Partial<RunSummary>;
    try {
      summary = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')) as Partial<RunSummary>;
    } catch (cause) {
      throw new LlmIrError({ code: 'io', message: `cannot read summary.json: ${(cause as Error).message}`, file: dir, cause });
    }
    if (typeof summary.average !== 'number' || typeof summary.scene?.weightedF1 !== 'number' || typeof summary.intent?.weightedF1 !== 'number') {
      throw new LlmIrError({ code: 'invalid-format', message: 'summary.json needs average, scene.weightedF1 and intent.weightedF1', file: join(dir, 'summary.json') });
    }
    let arm = summary.arm;
    if (arm === undefined) {
      try {
        const run = JSON.parse(await readFile(join(dir, 'run.json'), 'utf8')) as { config?: Record<string, unknown> };
        const c = run.config ?? {};
        arm = typeof c['arm'] === 'string' ? c['arm'] : typeof c['name'] === 'string' ? c['name'] : undefined;
      } catch {
        arm = undefined;
      }
    }
    out.push({ ...(summary as RunSummary), arm: arm ?? basename(dir), dir });
  }
  return out;
}

/** A table ready to render: column names and rows of cells. */
export interface Table {
  /** Title shown above the table. */
  title: string;
  /** Column headers. */
  columns: string[];
  /** Rows of cells (numbers are rendered with `digits` decimals). */
  rows: Array<Array<string | number | null>>;
  /** Decimals for numbers. @default 2 */
  digits?: number;
}

/** A fraction in points (x100); NaN stays NaN. */
export const pts = (x: number): number => (Number.isFinite(x) ? 100 * x : Number.NaN);

/**
 * The paper's Table 1 shape: one row per configuration and epoch (or checkpoint) with intent,
 * scene and average scores in points (x100). Runs without checkpoints give their final row.
 */
export function table1(runs: readonly RunResult[]): Table {
  const rows: Table['rows'] = [];
  for (const r of runs) {
    const cps = r.checkpoints?.length ? r.checkpoints : [{ scene: r.scene.weightedF1, intent: r.intent.weightedF1, average: r.average }];
    for (const c of cps) rows.push([r.arm, 'epoch' in c && c.epoch !== undefined ? c.epoch : 'final', pts(c.intent), pts(c.scene), pts(c.average)]);
  }
  return { title: 'Scores per configuration and epoch (weighted F1 x 100)', columns: ['Configuration', 'Epoch', 'Intent', 'Scene', 'Average'], rows };
}

/** Best checkpoint of a run by average (its final scores when it has no checkpoints). */
export function bestCheckpoint(r: RunResult): CheckpointScore & { label: string | number } {
  const cps = r.checkpoints?.length ? r.checkpoints : [{ scene: r.scene.weightedF1, intent: r.intent.weightedF1, average: r.average }];
  const best = cps.reduce((a, b) => (b.average > a.average ? b : a));
  return { ...best, label: best.epoch ?? 'final' };
}

/**
 * The paper's Table 2 shape: each configuration's best score and its improvement over the
 * baseline's best, in points. The baseline is the run named `baseline` unless another is given,
 * else the first run.
 */
export function table2(runs: readonly RunResult[], options: { baseline?: string } = {}): Table {
  const base = runs.find((r) => r.arm === (options.baseline ?? 'baseline')) ?? runs[0];
  const baseBest = base ? bestCheckpoint(base).average : Number.NaN;
  return {
    title: `Best score per configuration and improvement over ${base?.arm ?? 'the baseline'} (x 100)`,
    columns: ['Configuration', 'Best epoch', 'Intent', 'Scene', 'Average', 'Improvement'],
    rows: runs.map((r) => {
      const b = bestCheckpoint(r);
      return [r.arm, b.label, pts(b.intent), pts(b.scene), pts(b.average), r === base ? null : pts(b.average - baseBest)];
    }),
  };
}

const VERBATIM = new Set(['Epoch', 'Best epoch', 'n', 'Support']);

function formatRow(t: Table, row: Table['rows'][number]): string[] {
  return row.map((v, i) => {
    const col = t.columns[i] ?? '';
    if (v === null) return '-';
    if (typeof v === 'string') return v;
    if (Number.isNaN(v)) return 'n/a';
    if (VERBATIM.has(col)) return String(v);
    return `${(col === 'Improvement' || col === 'Gap') && v > 0 ? '+' : ''}${v.toFixed(t.digits ?? 2)}`;
  });
}

/** Renders a table as GitHub Markdown. */
export function tableToMarkdown(t: Table): string {
  const head = `| ${t.columns.join(' | ')} |\n|${t.columns.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|\n`;
  return `${head}${t.rows.map((r) => `| ${formatRow(t, r).join(' | ')} |`).join('\n')}\n`;
}

/** Renders a table as CSV (RFC 4180 quoting by csv-stringify; numbers with full precision). */
export function tableToCsv(t: Table): string {
  return stringifyCsv([t.columns, ...t.rows.map((r) => r.map((v) => (v === null ? '' : String(v))))]);
}

/** Escapes text for HTML. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Renders a table as an HTML `<table>`. */
export function tableToHtml(t: Table): string {
  const head = t.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = t.rows.map((r) => `<tr>${formatRow(t, r).map((c, i) => `<td${typeof r[i] === 'number' ? ' class="num"' : ''}>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table>\n<caption>${escapeHtml(t.title)}</caption>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}
