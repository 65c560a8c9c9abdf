import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSamples, type Sample } from '@llm-ir/core';
import { createRng } from '@llm-ir/core/run';
import { beforeAll, describe, expect, it } from 'vitest';
import { readRunResults, table1, table2, tableToCsv, tableToHtml, tableToMarkdown, toRunSummary } from './ablation.ts';
import { estimateEffects, type FactorialRun } from './effects.ts';
import { scoreChallenge, type GoldRow, type PredictedRow } from './score.ts';
import { errorSlices } from './slices.ts';

const TRAIN = fileURLToPath(new URL('../../../../shared/datasets/www2025-mire/train.json', import.meta.url));
let samples: Sample[];
let gold: GoldRow[];

beforeAll(async () => {
  samples = (await loadSamples(TRAIN)).samples;
  gold = samples.map((s) => ({ id: s.id, task: s.task, label: s.label! }));
});

/** Each row is right with probability p (wrong answers: another gold label of the same task). */
function withAccuracy(p: number, seed: string): PredictedRow[] {
  const rng = createRng(seed);
  return gold.map((g, i) => {
    if (rng.float() < p) return { id: g.id, label: g.label };
    const other = gold[(i + 1 + rng.int(gold.length - 1)) % gold.length]!;
    return { id: g.id, label: other.task === g.task && other.label !== g.label ? other.label : `${g.label}?` };
  });
}

describe('component effects', () => {
  it('recovers a planted main effect and no effect where none was planted (full 2^3 design)', () => {
    const runs: FactorialRun[] = [];
    for (let m = 0; m < 8; m++) {
      const factors = { ocr: (m & 1) === 1, rag: (m & 2) === 2, augment: (m & 4) === 4 };
      // OCR adds 20 points of accuracy; the others nothing
      runs.push({ name: `run${m}`, factors, predictions: withAccuracy(0.5 + (factors.ocr ? 0.2 : 0), `r${m}`) });
    }
    const r = estimateEffects(gold, runs, { resamples: 200, seed: 2 });
    expect(r.fullFactorial).toBe(true);
    expect(r.factors).toEqual(['augment', 'ocr', 'rag']);
    const ocr = r.effects.find((e) => e.term === 'ocr')!;
    expect(ocr.estimate).toBeGreaterThan(0.12);
    expect(ocr.ci95[0]).toBeGreaterThan(0.05);
    const rag = r.effects.find((e) => e.term === 'rag')!;
    expect(Math.abs(rag.estimate)).toBeLessThan(0.06);
    expect(rag.ci95[0]).toBeLessThan(rag.estimate);
    expect(r.effects.filter((e) => e.kind === 'interaction').map((e) => e.term)).toEqual(['augment:ocr', 'augment:rag', 'ocr:rag']);
    expect(r.effects.every((e) => e.aliasedWith.length === 0)).toBe(true);
  });

  it('flags aliased terms in a half fraction (2^(3-1), C = AB)', () => {
    const design = [
      { a: false, b: false, c: true },
      { a: true, b: false, c: false },
      { a: false, b: true, c: false },
      { a: true, b: true, c: true },
    ];
    const runs = design.map((f, i) => ({ name: `h${i}`, factors: f, predictions: withAccuracy(0.6, `h${i}`) }));
    const r = estimateEffects(gold, runs, { resamples: 50 });
    expect(r.fullFactorial).toBe(false);
    expect(r.effects.find((e) => e.term === 'c')!.aliasedWith).toEqual(['a:b']);
  });
});

describe('ablation tables from run folders', () => {
  it('builds the Table 1 and Table 2 shapes and renders them', async () => {
    const root = await mkdtemp(join(tmpdir(), 'llm-ir-abl-'));
    const arms: Array<[string, number[]]> = [
      ['baseline', [0.55, 0.6, 0.62]],
      ['ocr-train-infer', [0.6, 0.7, 0.68]],
    ];
    const dirs: string[] = [];
    for (const [arm, accs] of arms) {
      const dir = join(root, arm);
      await mkdir(dir);
      const checkpoints = accs.map((acc, i) => {
        const s = scoreChallenge(gold, withAccuracy(acc, `${arm}${i}`), { resamples: 0 });
        return { epoch: 3.5 + 0.5 * i, scene: s.scene.weightedF1, intent: s.intent.weightedF1, average: s.average };
      });
      const final = scoreChallenge(gold, withAccuracy(accs.at(-1)!, `${arm}2`), { resamples: 0 });
      await writeFile(join(dir, 'summary.json'), JSON.stringify(toRunSummary(arm, final, { checkpoints })));
      dirs.push(dir);
    }
    const runs = await readRunResults(dirs);
    const t1 = table1(runs);
    expect(t1.rows).toHaveLength(6);
    expect(t1.rows[0]!.slice(0, 2)).toEqual(['baseline', 3.5]);
    const t2 = table2(runs);
    expect(t2.rows[0]![5]).toBeNull();
    const improvement = t2.rows[1]![5] as number;
    expect(improvement).toBeCloseTo(100 * (Math.max(...runs[1]!.checkpoints!.map((c) => c.average)) - Math.max(...runs[0]!.checkpoints!.map((c) => c.average))), 10);
    expect(t2.rows[1]![1]).toBe(4);
    const md = tableToMarkdown(t2);
    expect(md.split('\n')[0]).toBe('| Configuration | Best epoch | Intent | Scene | Average | Improvement |');
    expect(md).toMatch(/\| ocr-train-infer \| 4 \| [\d.]+ \| [\d.]+ \| [\d.]+ \| \+[\d.]+ \|/);
    expect(tableToCsv(t1).split('\n')[0]).toBe('Configuration,Epoch,Intent,Scene,Average');
    expect(tableToHtml(t2)).toContain('<th>Improvement</th>');
    await expect(readRunResults([join(root, 'nope')])).rejects.toMatchObject({ code: 'io' });
  });
});

describe('error slices', () => {
  it('scores slices, their gaps, and the weakest classes with confusions', () => {
    // intent rows right, scene rows 50% right: the scene slice must show a negative gap
    const rng = createRng(9);
    const pred = gold.map((g) => ({ id: g.id, label: g.task === 'intent' || rng.float() < 0.5 ? g.label : '其他类别图片' }));
    const r = errorSlices(samples, pred);
    const dialogue = r.slices.filter((s) => s.family === 'dialogue');
    expect(dialogue.find((s) => s.slice === 'scene row')!.gap).toBeLessThan(0);
    expect(dialogue.filter((s) => s.slice.includes('turns')).every((s) => s.weightedF1 === 1)).toBe(true);
    expect(r.slices.filter((s) => s.family === 'images').reduce((a, s) => a + s.n, 0)).toBe(799);
    expect(r.slices.find((s) => s.family === 'ocr')!.slice).toBe('no OCR text');
    expect(r.slices.filter((s) => s.family === 'label-frequency')).toHaveLength(3);
    const weak = r.worst.filter((w) => w.task === 'scene');
    expect(weak).toHaveLength(5);
    for (const w of weak.filter((x) => x.label !== '其他类别图片')) expect(w.confusions[0]!.predicted).toBe('其他类别图片');
    expect(weak.every((w, i) => i === 0 || w.f1 >= weak[i - 1]!.f1)).toBe(true);
  });
});
