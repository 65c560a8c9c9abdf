import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labelSetOf, loadSamples, type Sample } from '@llm-ir/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pseudoLabel } from './pseudo.ts';
import { ensembleTeacher, imageDataUrl, LABEL_CODES, openaiTeacher } from './teachers.ts';
import { startFakeOpenAI, type FakeOpenAI, type FakeRequest } from './testing/index.ts';

const MIRE = fileURLToPath(new URL('../../../../shared/datasets/www2025-mire/', import.meta.url));
let rows: Sample[];
let fake: FakeOpenAI | undefined;
beforeAll(async () => {
  const { samples } = await loadSamples(join(MIRE, 'train.json'));
  rows = [...samples.filter((s) => s.task === 'scene').slice(0, 6), ...samples.filter((s) => s.task === 'intent').slice(0, 6)];
  for (const r of rows) {
    const sizes = await Promise.all(r.turns.flatMap((t) => t.images).map(async (i) => Buffer.from((await imageDataUrl(join(MIRE, 'images', i.path), 401_408)).split(',')[1]!, 'base64').length));
    imageSizes.set(r.id, sizes.join(','));
  }
});
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** Size of each row's images as the teacher sends them: the fake tells scene rows apart by it. */
const imageSizes = new Map<string, string>();

/** The fake knows the gold labels: it finds the row by its images (as sent) and its dialogue text. */
function oracle(req: FakeRequest) {
  const key = req.images.map((i) => i.bytes).join(',');
  const row = rows.find((r) => imageSizes.get(r.id) === key && r.turns.every((t) => req.text.includes(t.text.replace(/<image>/g, '').trim().slice(0, 30))));
  const labels = row ? [...labelSetOf(row.task).names] : [];
  const i = row ? labels.indexOf(row.label!) : 0;
  return { letter: LABEL_CODES[i]!, other: LABEL_CODES[(i + 1) % labels.length]!, label: row?.label ?? '' };
}

describe('openai teacher against a local OpenAI-compatible server', () => {
  it('sends the prompt with image parts and logprobs, and reads label probabilities', async () => {
    fake = await startFakeOpenAI({ answer: (req) => { const o = oracle(req); return { text: o.letter, tokenProbs: { [o.letter]: 0.8, [o.other]: 0.15, '\n': 0.05 } }; } });
    process.env['LLM_IR_TEST_KEY'] = 'sk-secret-test-key';
    const teacher = openaiTeacher({ baseURL: fake.url, model: 'qwen2-vl-7b', imagesDir: join(MIRE, 'images'), apiKeyEnv: 'LLM_IR_TEST_KEY', concurrency: 4, backoffMs: 1 });
    const preds = await teacher.label(rows);
    expect(preds.map((p) => p.label)).toEqual(rows.map((r) => r.label));
    for (const p of preds) {
      expect(p.probs![p.label]).toBeCloseTo(0.8 / 0.95, 6);
      expect(Object.values(p.probs!).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    }
    const req = fake.requests[0]!;
    expect(req.body).toMatchObject({ model: 'qwen2-vl-7b', max_tokens: 1, temperature: 0, logprobs: true, top_logprobs: 20 });
    expect(req.images.length).toBeGreaterThan(0);
    expect(req.images[0]!.mediaType).toBe('image/jpeg');
    expect(req.text).toContain('A. ');
    expect(req.text).not.toContain('<image>');
    expect(req.authorization).toBe('Bearer sk-secret-test-key');
    expect(teacher.client.stats().requests).toBe(rows.length);
  }, 60_000);

  it('sends structured_outputs (or the legacy guided_choice) and counts votes', async () => {
    fake = await startFakeOpenAI({ answer: (req, i) => ({ text: i < 4 ? oracle(req).label : '不知道' }) });
    const teacher = openaiTeacher({ baseURL: fake.url, model: 'm', imagesDir: join(MIRE, 'images'), probabilities: 'votes', votes: 5, backoffMs: 1 });
    const preds = await teacher.label(rows.slice(0, 3));
    expect(fake.requests[0]!.body['structured_outputs']).toEqual({ choice: [...labelSetOf(rows[0]!.task).names] });
    expect(fake.requests[0]!.body['n']).toBe(5);
    expect(preds.map((p) => p.probs![p.label])).toEqual([1, 1, 1]);
    await fake.close();
    fake = await startFakeOpenAI({ vllm: 'legacy', answer: (req) => ({ text: oracle(req).label }) });
    const legacy = openaiTeacher({ baseURL: fake.url, model: 'm', imagesDir: join(MIRE, 'images'), probabilities: 'none', constraint: 'guided_choice', backoffMs: 1 });
    expect((await legacy.label(rows.slice(0, 2))).map((p) => p.label)).toEqual(rows.slice(0, 2).map((r) => r.label));
    expect(fake.requests[0]!.body['guided_choice']).toBeDefined();
    expect(fake.requests[0]!.ignored).toEqual([]);
  }, 60_000);

  it('falls back to votes when a server gives no logprobs, whatever its first answer', async () => {
    let first = true;
    fake = await startFakeOpenAI({ script: ['no-logprobs'], answer: (req) => {
      if (first) {
        first = false;
        return { text: '这是一张截图' }; // no letter, no label: the votes decide
      }
      return { text: oracle(req).letter };
    } });
    const teacher = openaiTeacher({ baseURL: fake.url, model: 'm', imagesDir: join(MIRE, 'images'), concurrency: 1, backoffMs: 1 });
    const errors: string[] = [];
    const preds = await teacher.label(rows.slice(0, 1), { onError: (id, e) => errors.push(`${id}: ${e.message}`) });
    expect(errors).toEqual([]);
    expect(preds.map((p) => p.label)).toEqual([rows[0]!.label]);
    expect(fake.requests[1]!.body['n']).toBe(5);
  }, 60_000);

  it('retries 429, 500, timeouts and malformed answers, and falls back to votes without logprobs', async () => {
    fake = await startFakeOpenAI({ script: ['429', '500', 'slow', 'malformed', 'no-logprobs'], slowMs: 1500, answer: (req) => ({ text: oracle(req).letter }) });
    const teacher = openaiTeacher({ baseURL: fake.url, model: 'm', imagesDir: join(MIRE, 'images'), concurrency: 1, timeoutMs: 500, backoffMs: 1 });
    const preds = await teacher.label(rows.slice(0, 3));
    expect(preds.map((p) => p.label)).toEqual(rows.slice(0, 3).map((r) => r.label));
    expect(teacher.client.stats().retries).toBe(4);
  }, 60_000);

  it('fails a row for good on 401 without leaking the key, and carries on with the others', async () => {
    process.env['LLM_IR_TEST_KEY'] = 'sk-do-not-print';
    fake = await startFakeOpenAI({ apiKey: 'sk-the-right-one', answer: (req) => ({ text: oracle(req).letter }) });
    const teacher = openaiTeacher({ baseURL: fake.url, model: 'm', apiKeyEnv: 'LLM_IR_TEST_KEY', maxRetries: 3, backoffMs: 1 });
    const errors: string[] = [];
    const preds = await teacher.label(rows.slice(0, 2), { onError: (_id, e) => errors.push(e.message) });
    expect(preds).toEqual([]);
    expect(errors).toHaveLength(2);
    expect(errors.join(' ')).toMatch(/HTTP 401/);
    expect(errors.join(' ')).not.toContain('sk-do-not-print');
    expect(teacher.client.stats().retries).toBe(0);
  });

  it('journals rows: a run killed midway resumes without labelling a row twice', async () => {
    // the run is killed when the 4th request arrives: with two rows in flight at a time, a row's slot is
    // freed only after its journal line is written, so at least two rows are journaled by then
    const controller = new AbortController();
    fake = await startFakeOpenAI({ answer: (req) => {
      if (fake!.requests.length === 4) controller.abort();
      return { text: oracle(req).letter };
    } });
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-journal-'));
    const journal = join(dir, 'journal.jsonl');
    const opts = { baseURL: fake.url, model: 'm', imagesDir: join(MIRE, 'images'), concurrency: 2, journal, backoffMs: 1 };
    await expect(openaiTeacher(opts).label(rows, { signal: controller.signal })).rejects.toThrow();
    const first = (await readFile(journal, 'utf8')).trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).prediction.id as string);
    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThan(rows.length);
    const before = fake.requests.length;
    const preds = await openaiTeacher(opts).label(rows);
    expect(preds.map((p) => p.id)).toEqual(rows.map((r) => r.id));
    const labelled = (await readFile(journal, 'utf8')).trim().split('\n').map((l) => JSON.parse(l).prediction.id as string);
    expect(new Set(labelled).size).toBe(labelled.length);
    expect(labelled.length).toBe(rows.length);
    expect(fake.requests.length - before).toBe(rows.length - first.length);
    expect(await readFile(journal, 'utf8')).not.toContain('sk-');
  }, 60_000);
});

describe('pseudo-labelling', () => {
  it('keeps confident, agreeing rows up to a per-class cap and reports why others were dropped', async () => {
    fake = await startFakeOpenAI({ answer: (req) => { const o = oracle(req); return { text: o.letter, tokenProbs: req.images.length > 1 ? { [o.letter]: 0.4, [o.other]: 0.35 } : { [o.letter]: 0.9, [o.other]: 0.1 } }; } });
    const a = openaiTeacher({ baseURL: fake.url, model: 'a', imagesDir: join(MIRE, 'images'), backoffMs: 1 });
    const b = openaiTeacher({ baseURL: fake.url, model: 'b', imagesDir: join(MIRE, 'images'), backoffMs: 1 });
    const unlabelled = rows.map(({ label: _l, ...r }) => r as Sample);
    const r = await pseudoLabel(unlabelled, ensembleTeacher([a, b]), { minConfidence: 0.6, minAgreement: 1, perClassCap: 1 });
    expect(r.soft).toHaveLength(rows.length);
    for (const s of r.rows) expect(s.label).toBe(rows.find((x) => x.id === s.id)!.label);
    const dropped = r.report.dropped;
    expect(r.rows.length + dropped.lowConfidence + dropped.overCap + dropped.disagreement + dropped.unlabelled).toBe(rows.length);
    expect(Object.values(r.report.kept).every((n) => n <= 1)).toBe(true);
    expect(r.report.histogram.reduce((x, y) => x + y, 0)).toBe(rows.length);
    expect(r.rows[0]!.meta?.['pseudoLabel']).toMatchObject({ confidence: expect.any(Number) });
  }, 60_000);
});
