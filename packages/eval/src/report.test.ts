import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSamples } from '@llm-ir/core';
import { createRng, openArtifactCache } from '@llm-ir/core/run';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { estimateEffects } from './effects.ts';
import { writeReport } from './report.ts';
import { scoreChallenge, type GoldRow } from './score.ts';
import { errorSlices } from './slices.ts';
import { scoreStage } from './stage.ts';
import { CHROMIUM as CHROMIUM_TOOL, needs } from '@llm-ir/core/testing';

const browser = needs(CHROMIUM_TOOL);

const TRAIN = fileURLToPath(new URL('../../../../shared/datasets/www2025-mire/train.json', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';

async function buildReport(): Promise<string> {
  const { samples } = await loadSamples(TRAIN);
  const gold: GoldRow[] = samples.map((s) => ({ id: s.id, task: s.task, label: s.label! }));
  const predict = (acc: number, seed: string) => {
    const rng = createRng(seed);
    return gold.map((g, i) => ({ id: g.id, label: rng.float() < acc ? g.label : gold[(i * 7 + 3) % gold.length]!.label }));
  };
  const score = scoreChallenge(gold, predict(0.8, 'x'), { resamples: 200 });
  const runs = [0, 1, 2, 3].map((m) => ({ name: `r${m}`, factors: { ocr: (m & 1) === 1, rag: (m & 2) === 2 }, predictions: predict(0.6 + (m & 1 ? 0.15 : 0), `r${m}`) }));
  const effects = estimateEffects(gold, runs, { resamples: 100 });
  const summaries = runs.map((r, i) => {
    const s = scoreChallenge(gold, r.predictions, { resamples: 0 });
    return {
      arm: ['baseline', '+ocr', '+rag', '+ocr+rag'][i]!,
      scene: s.scene,
      intent: s.intent,
      average: s.average,
      checkpoints: [3.5, 4, 4.5].map((epoch, j) => ({ epoch, scene: s.scene.weightedF1 - 0.01 * (2 - j), intent: s.intent.weightedF1 - 0.01 * (2 - j), average: s.average - 0.01 * (2 - j) })),
    };
  });
  const dir = await mkdtemp(join(tmpdir(), 'llm-ir-report-'));
  const file = join(dir, 'report.html');
  await writeReport(file, { title: 'llm-ir report test', subtitle: 'synthetic predictions on the official rows', score, runs: summaries, effects, slices: errorSlices(samples, predict(0.8, 'x')) });
  return file;
}

describe('report.html', () => {
  it('is one self-contained file with every chart as inline SVG', async () => {
    const file = await buildReport();
    const html = await readFile(file, 'utf8');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    for (const id of ['chart-configurations', 'chart-epochs', 'chart-effects', 'chart-f1-scene', 'chart-confusion-scene', 'chart-f1-intent', 'chart-confusion-intent']) {
      expect(html).toMatch(new RegExp(`<figure id="${id}" class="chart"><svg[^>]*>[\\s\\S]+?</svg></figure>`));
    }
    expect(html).toContain('<th>Improvement</th>');
    expect(html).toContain('Error slices');
  });

  it.skipIf(browser.skip)(`renders in headless Chromium with every chart drawn and no console errors${browser.note}`, async () => {
    const file = await buildReport();
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      const failed: string[] = [];
      page.on('requestfailed', (r) => failed.push(r.url()));
      await page.goto(`file://${file}`);
      const charts = await page.$$eval('figure.chart svg', (svgs) =>
        svgs.map((s) => {
          const box = s.getBoundingClientRect();
          return { w: box.width, h: box.height, marks: s.querySelectorAll('path, rect, text, line').length };
        }),
      );
      expect(charts).toHaveLength(7);
      for (const c of charts) {
        expect(c.w).toBeGreaterThan(100);
        expect(c.h).toBeGreaterThan(50);
        expect(c.marks).toBeGreaterThan(5);
      }
      expect(errors).toEqual([]);
      expect(failed).toEqual([]);
      const shot = join(file, '..', 'report.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect((await readFile(shot)).length).toBeGreaterThan(10_000);
    } finally {
      await browser.close();
    }
  }, 120_000);
});

describe('scoreStage', () => {
  it('scores a run seeded by the context, every checkpoint when there are several, and writes report.html', async () => {
    const { samples } = await loadSamples(TRAIN);
    const rng = createRng('stage');
    const guess = (acc: number) => samples.map((s, i) => ({ id: s.id, task: s.task, label: rng.float() < acc ? s.label! : samples[(i * 7 + 3) % samples.length]!.label! }));
    const [early, last] = [guess(0.5), guess(0.8)];
    const outDir = await mkdtemp(join(tmpdir(), 'llm-ir-stage-'));
    const ctx = { cache: openArtifactCache({ dir: join(outDir, 'cache') }), seed: 7, outDir };
    const staged = await scoreStage(ctx, { name: 'arm-x', labelled: samples, predictions: last, factors: { ocr: true }, checkpoints: [{ epoch: 1, predictions: early }, { epoch: 2, predictions: last }] }, { resamples: 200 });
    const gold = samples.map((s) => ({ id: s.id, task: s.task, label: s.label! }));
    // the same score as scoring by hand with the context's seed
    expect(staged.score).toEqual(scoreChallenge(gold, last, { resamples: 200, seed: 7 }));
    expect(staged.summary.factors).toEqual({ ocr: true });
    expect(staged.summary.checkpoints!.map((c) => c.epoch)).toEqual([1, 2]);
    expect(staged.summary.checkpoints![0]!.average).toBe(scoreChallenge(gold, early, { resamples: 0 }).average);
    expect(staged.summary.checkpoints![1]!.average).toBe(staged.score.average);
    const html = await readFile(join(outDir, 'report.html'), 'utf8');
    expect(html).toContain('llm-ir arm arm-x');
    expect(html).toContain('<svg');
    // one checkpoint is the submission itself: no per-epoch list
    const one = await scoreStage(ctx, { name: 'arm-y', labelled: samples, predictions: last, checkpoints: [{ epoch: 1, predictions: last }] }, { resamples: 0 });
    expect(one.summary.checkpoints).toBeUndefined();
  }, 60_000);
});
