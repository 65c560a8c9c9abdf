import { mkdtemp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writePredictionsJsonl, writeSubmissionCsv } from '@llm-ir/core';
import { createRng } from '@llm-ir/core/run';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli } from './__fixtures__/cli.ts';

const TRAIN = fileURLToPath(new URL('../../../../shared/datasets/www2025-mire/train.json', import.meta.url));

let dir: string;
let rows: Array<{ id: string; output: string; instruction: string }>;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llm-ir-evalcli-'));
  rows = JSON.parse(await readFile(TRAIN, 'utf8'));
});

function predictions(acc: number, seed: string) {
  const rng = createRng(seed);
  return rows.map((r, i) => ({ id: r.id, predict: rng.float() < acc ? r.output : rows[(i + 5) % rows.length]!.output }));
}

describe('llm-ir eval', () => {
  it('prints exactly one JSON object of the documented shape', async () => {
    const sub = join(dir, 'a.csv');
    await writeSubmissionCsv(sub, predictions(0.8, 'a').slice(3).concat([{ id: 'ghost', predict: '退款页面' }]));
    const r = await cli('eval', '--gold', TRAIN, '--pred', sub, '--json', '--resamples', '100');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(Object.keys(out).sort()).toEqual(['average', 'averageCi95', 'intent', 'missing', 'offLabelSet', 'paddedIds', 'pooled', 'scene', 'unknown']);
    for (const t of ['scene', 'intent', 'pooled']) {
      expect(Object.keys(out[t]).sort()).toEqual(['accuracy', 'ci95', 'macroF1', 'microF1', 'n', 'precision', 'recall', 'weightedF1']);
      expect(out[t].weightedF1).toBeGreaterThan(0);
      expect(out[t].weightedF1).toBeLessThanOrEqual(1);
      expect(out[t].ci95).toHaveLength(2);
    }
    expect(out.scene.n).toBe(560);
    expect(out.intent.n).toBe(239);
    expect(out.average).toBeCloseTo((out.scene.weightedF1 + out.intent.weightedF1) / 2, 15);
    expect(out.missing).toEqual(rows.slice(0, 3).map((r) => r.id));
    expect(out.unknown).toEqual(['ghost']);
  });

  it('reads predictions.jsonl too and writes an HTML report on request', async () => {
    const p = join(dir, 'p.jsonl');
    await writePredictionsJsonl(p, predictions(0.9, 'b').map((x) => ({ id: x.id, task: 'scene', label: x.predict })));
    const report = join(dir, 'eval.html');
    const r = await cli('eval', '--gold', TRAIN, '--pred', p, '--resamples', '50', '--report', report);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^average {2}\d+\.\d\d \[/);
    expect(await readFile(report, 'utf8')).toContain('chart-confusion-intent');
  });

  it('says which row is bad in a broken prediction file', async () => {
    const p = join(dir, 'bad.jsonl');
    await writeFile(p, '{"id":"a","label":"x"}\n{"id":\n');
    const r = await cli('eval', '--gold', TRAIN, '--pred', p);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.jsonl, row 1: invalid JSON/);
  });
});

describe('llm-ir compare and report', () => {
  it('compares two prediction files', async () => {
    const a = join(dir, 'ca.csv');
    const b = join(dir, 'cb.csv');
    await writeSubmissionCsv(a, predictions(0.5, 'c'));
    await writeSubmissionCsv(b, predictions(0.9, 'd'));
    const r = await cli('compare', '--gold', TRAIN, '--a', a, '--b', b, '--resamples', '300');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/average .* B-A \+\d/);
    expect(r.stdout).toMatch(/McNemar .*chi-square-cc/);
    const j = JSON.parse((await cli('compare', '--gold', TRAIN, '--a', a, '--b', b, '--resamples', '100', '--json')).stdout);
    expect(j.average.pValue).toBeLessThan(0.05);
  });

  it('builds the ablation report from run folders, with effects when runs carry factors', async () => {
    const dirs: string[] = [];
    for (const [arm, acc, ocr, rag] of [['baseline', 0.6, false, false], ['ocr-train-infer', 0.75, true, false], ['ocr-rag', 0.8, true, true], ['rag', 0.65, false, true]] as const) {
      const run = join(dir, 'runs', arm);
      await mkdir(run, { recursive: true });
      const pred = predictions(acc, arm);
      await writeSubmissionCsv(join(run, 'submission.csv'), pred);
      await writePredictionsJsonl(join(run, 'predictions.jsonl'), pred.map((x) => ({ id: x.id, task: 'scene', label: x.predict })));
      const e = JSON.parse((await cli('eval', '--gold', TRAIN, '--pred', join(run, 'submission.csv'), '--json', '--resamples', '0')).stdout);
      await writeFile(join(run, 'summary.json'), JSON.stringify({ arm, ...e, factors: { ocrTrain: ocr, ocrInfer: ocr, rag } }));
      dirs.push(run);
    }
    const out = join(dir, 'ablation.html');
    const r = await cli('report', ...dirs, '--out', out, '--gold', TRAIN, '--resamples', '50');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('| Configuration | Best epoch | Intent | Scene | Average | Improvement |');
    const html = await readFile(out, 'utf8');
    expect(html).toContain('chart-configurations');
    expect(html).toContain('chart-effects');
    // OCR at training and inference always move together here: one factor, not two aliased ones
    expect(html).toContain('ocrInfer=ocrTrain');
    expect(html).not.toMatch(/<td>ocrTrain<\/td>/);
  });
});
