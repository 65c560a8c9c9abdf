import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseChallengeRow, renderInstruction, safeParseChallengeRow, writeChallengeRow } from './challenge.ts';
import { LlmIrError } from './errors.ts';
import { INTENT_LABELS, SCENE_LABELS } from './labels.ts';
import { MIRE_TRAIN } from './__fixtures__/shared-data.ts';
import type { ChallengeRow, Sample } from './types.ts';

const rows = JSON.parse(readFileSync(MIRE_TRAIN, 'utf8')) as ChallengeRow[];

describe('challenge format on the official rows', () => {
  it('has the 799 official rows', () => {
    expect(rows).toHaveLength(799);
  });

  it('write(parse(row)) reproduces id, instruction, input, output and image for every row', () => {
    let checked = 0;
    for (const [i, row] of rows.entries()) {
      const back = writeChallengeRow(parseChallengeRow(row, { file: 'train.json', row: i }));
      expect(back).toEqual({ id: row.id, instruction: row.instruction, input: row.input, output: row.output, image: row.image });
      checked++;
    }
    expect(checked).toBe(799);
  });

  it('finds 560 scene and 239 intent rows, with labels from the official sets', () => {
    const samples = rows.map((r) => parseChallengeRow(r));
    expect(samples.filter((s) => s.task === 'scene')).toHaveLength(560);
    expect(samples.filter((s) => s.task === 'intent')).toHaveLength(239);
    for (const s of samples) {
      const set = s.task === 'scene' ? SCENE_LABELS : INTENT_LABELS;
      expect(set.has(s.label!)).toBe(true);
      expect(s.prompt!.labels).toEqual(set.names);
    }
  });

  it('binds <image> placeholders in order across turns and keeps <http> and emoticon codes', () => {
    const row = rows.find((r) => r.image.length >= 3 && r.instruction.includes('START'))!;
    const s = parseChallengeRow(row);
    const bound = s.turns.flatMap((t) => t.images.map((i) => i.path));
    expect(bound).toEqual(row.image);
    for (const t of s.turns) expect(t.images).toHaveLength(t.text.split('<image>').length - 1);
    const first = parseChallengeRow(rows[0]!);
    expect(first.turns[0]).toEqual({ role: 'user', text: '<image>', images: [{ path: rows[0]!.image[0] }] });
    expect(first.turns[1]!.role).toBe('agent');
    expect(first.turns[1]!.text).toContain('/:068~~');
    expect(first.turns[2]!.text).toBe('<http>');
  });

  it('parses a scene row into one user turn holding the image', () => {
    const row = rows.find((r) => r.instruction.startsWith('Picture 1'))!;
    const s = parseChallengeRow(row);
    expect(s.task).toBe('scene');
    expect(s.turns).toEqual([{ role: 'user', text: '<image>', images: [{ path: row.image[0] }] }]);
  });
});

describe('challenge format on new and bad rows', () => {
  it('writes a fresh sample with the official prompt, which parses back to the same sample', () => {
    const sample: Sample = {
      id: 'x1',
      task: 'intent',
      label: '何时上货',
      turns: [
        { role: 'user', text: '<image>', images: [{ path: 'a.jpg' }] },
        { role: 'agent', text: '亲，有什么可以帮您？' },
        { role: 'user', text: '什么时候补货\n第二行' },
      ].map((t) => ({ images: [], ...t }) as Sample['turns'][number]),
    };
    const row = writeChallengeRow(sample);
    expect(row.instruction).toContain('<用户与客服的对话 START>\n用户: <image>\n客服: 亲，有什么可以帮您？\n用户: 什么时候补货\n第二行\n<用户与客服的对话 END>');
    const back = parseChallengeRow(row);
    expect(back.turns).toEqual(sample.turns);
    expect(back.label).toBe('何时上货');
    expect(renderInstruction(back)).toBe(row.instruction);
    const officialIntent = rows.find((r) => r.instruction.includes('START'))!;
    expect(row.instruction.slice(-200)).toBe(officialIntent.instruction.slice(-200));
    const scene = writeChallengeRow({ id: 's', task: 'scene', turns: [{ role: 'user', text: '<image>', images: [{ path: 'p.png' }] }] });
    const officialScene = rows.find((r) => r.instruction.startsWith('Picture'))!;
    expect(scene.instruction).toBe(officialScene.instruction);
  });

  it.each([
    ['not an object', 'x', 'invalid-row'],
    ['no id', { instruction: 'Picture 1: <image>\n["a"]', image: ['a.jpg'] }, 'invalid-row'],
    ['image not a list', { id: 'a', instruction: 'Picture 1: <image>\n["a"]', image: 'a.jpg' }, 'invalid-row'],
    ['two placeholders, one image', { id: 'a', instruction: '<用户与客服的对话 START>\n用户: <image>\n用户: <image>\n<用户与客服的对话 END>\n["何时上货"]', image: ['a.jpg'] }, 'placeholder-mismatch'],
    ['empty dialogue', { id: 'a', instruction: '<用户与客服的对话 START>\n<用户与客服的对话 END>\n["何时上货"]', image: [] }, 'empty-dialogue'],
    ['no label list', { id: 'a', instruction: 'Picture 1: <image>\n请分类', image: ['a.jpg'] }, 'invalid-format'],
    ['neither task', { id: 'a', instruction: 'hello ["x"]', image: [] }, 'invalid-format'],
  ])('rejects %s with a typed error', (_name, row, code) => {
    const r = safeParseChallengeRow(row, { file: 'bad.json', row: 7 });
    expect(r.success).toBe(false);
    if (!r.success) {
      expect(LlmIrError.isInstance(r.error)).toBe(true);
      expect(r.error.code).toBe(code);
      expect(r.error.row).toBe(7);
      expect(r.error.message).toContain('bad.json, row 7');
    }
  });
});
