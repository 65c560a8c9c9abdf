import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeOpenAI } from '@llm-ir/distill/testing';
import { cli, MIRE } from './__fixtures__/cli.ts';
import { describe, expect, it } from 'vitest';

describe('llm-ir distill', () => {
  it('labels with an OpenAI-compatible teacher, trains the student on the soft labels, and predicts a submission', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-distillcli-'));
    const rows = JSON.parse(await readFile(join(MIRE, 'train.json'), 'utf8')).filter((r: { instruction: string }) => !r.instruction.startsWith('Picture')).slice(0, 60);
    await writeFile(join(dir, 'pool.json'), JSON.stringify(rows));
    // the fake teacher answers the first letter with probability 0.9 for every row
    const fake = await startFakeOpenAI({ answer: () => ({ text: 'B', tokenProbs: { B: 0.9, C: 0.1 } }) });
    try {
      const label = await cli('distill', 'label', '--teacher', `openai:${fake.url}#qwen2-vl`, '--in', join(dir, 'pool.json'), '--images', join(MIRE, 'images'), '--out', join(dir, 'labelled'), '--min-confidence', '0.8');
      expect(label.code).toBe(0);
      expect(label.stdout).toMatch(/60 of 60 rows kept/);
      const soft = (await readFile(join(dir, 'labelled', 'soft.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
      expect(soft).toHaveLength(60);
      expect(soft[0].probs['是否好用']).toBeCloseTo(0.9, 9);
      expect(fake.requests).toHaveLength(60);
      const again = await cli('distill', 'label', '--teacher', `openai:${fake.url}#qwen2-vl`, '--in', join(dir, 'pool.json'), '--images', join(MIRE, 'images'), '--out', join(dir, 'labelled'));
      expect(again.code).toBe(0);
      expect(fake.requests).toHaveLength(60); // resumed from the journal: nothing asked twice
    } finally {
      await fake.close();
    }
    const model = join(dir, 'student.json');
    const train = await cli('distill', 'train', '--train', join(MIRE, 'train.json'), '--soft', join(dir, 'labelled', 'soft.jsonl'), '--out', model);
    expect(train.code).toBe(0);
    expect(train.stdout).toMatch(/intent \d+ features/);
    const pred = await cli('distill', 'predict', '--model', model, '--in', join(dir, 'pool.json'), '--out', join(dir, 'pred'));
    expect(pred.code).toBe(0);
    const csv = (await readFile(join(dir, 'pred', 'submission.csv'), 'utf8')).trim().split('\n');
    expect(csv[0]).toBe('id,predict');
    expect(csv).toHaveLength(61);
    const bad = await cli('distill', 'label', '--teacher', 'magic:x', '--in', join(dir, 'pool.json'), '--images', join(MIRE, 'images'), '--out', join(dir, 'x'));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/unknown teacher/);
  }, 180_000);

  it('trains on the rationales of the --train rows with --rationales, and reports lines it cannot use by file and (zero-based) row', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-distillrat-'));
    const rows = JSON.parse(await readFile(join(MIRE, 'train.json'), 'utf8')).filter((r: { instruction: string }) => !r.instruction.startsWith('Picture')).slice(0, 40) as Array<{ id: string; output: string }>;
    await writeFile(join(dir, 'train.json'), JSON.stringify(rows));
    const file = join(dir, 'rationales.jsonl');
    // the official rationales of these rows, one line for a row of another split, and one whose label is not the row's
    const official = (await readFile(join(MIRE, 'rationales.gpt-4o.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { id: string; label: string; reason: string });
    const ours = official.filter((r) => rows.some((x) => x.id === r.id)).map((r, i) => (i === 0 ? { ...r, reason: `${r.reason}彁` } : r));
    await writeFile(file, [...ours, official.find((r) => !rows.some((x) => x.id === r.id))!, { ...ours[1]!, id: rows.find((x) => !ours.some((o) => o.id === x.id))?.id ?? ours[1]!.id, label: '不是标签' }].map((l) => JSON.stringify(l)).join('\n'));
    const model = join(dir, 'student.json');
    const r = await cli('distill', 'train', '--train', join(dir, 'train.json'), '--rationales', file, '--out', model);
    expect(r.stderr).toMatch(new RegExp(`rationales: ${ours.length} training row\\(s\\) from .*; 1 line\\(s\\) of other rows ignored; 1 line\\(s\\) unusable`));
    expect(r.stderr).toMatch(new RegExp(`rationales\\.jsonl.*row ${ours.length + 1}.*rationale not used: rationale label "不是标签"`));
    expect(r.code).toBe(2);
    const intent = JSON.parse(await readFile(model, 'utf8')).tasks.intent.featurizer.vocabs.user.terms as string[];
    expect(intent).toContain('彁');
    const plain = await cli('distill', 'train', '--train', join(dir, 'train.json'), '--out', join(dir, 'plain.json'));
    expect(plain.code).toBe(0);
    expect(JSON.parse(await readFile(join(dir, 'plain.json'), 'utf8')).tasks.intent.featurizer.vocabs.user.terms).not.toContain('彁');
  }, 60_000);
});
