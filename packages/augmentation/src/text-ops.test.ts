import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { INTENT_LABELS, loadSamples, type Sample } from '@llm-ir/core';
import { parseChallengeRow, writeChallengeRow } from '@llm-ir/core/challenge';
import { createRng } from '@llm-ir/core/run';
import { beforeAll, describe, expect, it } from 'vitest';
import { ECOMMERCE_ZH_LEXICON } from './lexicon-data.ts';
import { ecommerceLexicon } from './lexicon.ts';
import { protectedSpans, segmentProtected } from './protect.ts';
import { augmentSampleText, augmentText, englishSynonyms, reorderTurns, type TextOp } from './text-ops.ts';

const TRAIN = fileURLToPath(new URL('../../../../shared/datasets/www2025-mire/train.json', import.meta.url));
const LEXICON_FILE = fileURLToPath(new URL('../../../datasets/lexicons/ecommerce-zh.tsv', import.meta.url));
let official: Sample[];
beforeAll(async () => {
  official = (await loadSamples(TRAIN)).samples;
});

const AGGRESSIVE: TextOp[] = [
  { op: 'synonym', rate: 0.4 },
  { op: 'delete', rate: 0.2 },
  { op: 'insert', rate: 0.2 },
  { op: 'swap', rate: 0.2 },
  { op: 'reorder' },
];

const multiset = (xs: string[]) => [...xs].sort();

describe('protected tokens', () => {
  it('finds placeholders, links, emoticons, numbers, model numbers and units', () => {
    const t = '用户: <image>你好/:068 看<http>，型号SF1234567890和iPhone15 Pro，3公斤、15.6寸、¥39.90、50% 3 days https://item.taobao.com/item.htm?id=74 <ocr>退款 | 成功</ocr>';
    expect(protectedSpans(t)).toEqual(['<image>', '/:068', '<http>', 'SF1234567890', 'iPhone15', '3公斤', '15.6寸', '¥39.90', '50%', '3 days', 'https://item.taobao.com/item.htm?id=74', '<ocr>退款 | 成功</ocr>']);
    expect(segmentProtected(t).map((s) => s.text).join('')).toBe(t);
  });
});

describe('text operations on all 799 official rows', () => {
  it('keep labels, placeholders, image lists and every protected token, and parse back', async () => {
    let changed = 0;
    for (const s of official) {
      const rng = createRng(`t:${s.id}`);
      const out = await augmentSampleText(s, AGGRESSIVE, rng, { reorderTurns: 1 });
      const row = writeChallengeRow(out);
      const before = writeChallengeRow(s);
      expect(out.label).toBe(s.label);
      expect(multiset(row.image)).toEqual(multiset(before.image));
      expect(row.instruction.split('<image>').length).toBe(before.instruction.split('<image>').length);
      expect(multiset(out.turns.flatMap((t) => protectedSpans(t.text)))).toEqual(multiset(s.turns.flatMap((t) => protectedSpans(t.text))));
      const back = parseChallengeRow(row);
      expect(back.turns).toHaveLength(s.turns.length);
      expect(back.turns.at(-1)?.role).toBe(s.turns.at(-1)?.role);
      // the last user turn stays last among user turns (turn reordering never moves it)
      const lastUser = (x: Sample) => x.turns.map((t) => t.role).lastIndexOf('user');
      expect(lastUser(back)).toBe(lastUser(s));
      if (row.instruction !== before.instruction) changed++;
    }
    // scene rows hold only a protected <image>: unchanged; most intent dialogues change
    expect(changed).toBeGreaterThan(200);
  }, 120_000);

  it('are deterministic for a seed', async () => {
    for (const s of official.filter((x) => x.task === 'intent').slice(0, 30)) {
      const a = await augmentSampleText(s, AGGRESSIVE, createRng(`d:${s.id}`), { reorderTurns: 0.5 });
      const b = await augmentSampleText(s, AGGRESSIVE, createRng(`d:${s.id}`), { reorderTurns: 0.5 });
      expect(a).toEqual(b);
    }
  });
});

describe('synonyms', () => {
  it('replace Chinese words from the e-commerce lexicon', async () => {
    const out = await augmentText('请问这款保温杯什么时候补货', [{ op: 'synonym', rate: 1 }], createRng(3));
    expect(out).not.toBe('请问这款保温杯什么时候补货');
    const lex = ecommerceLexicon();
    expect(lex.synonyms('补货')).toEqual(expect.arrayContaining(['上货', '到货']));
    expect(lex.synonyms('材质')).toEqual(['材料', '面料', '用料']);
    expect(lex.synonyms('件')).toEqual([]);
  });

  it('replace English words with WordNet synonyms of the same part of speech', async () => {
    expect(englishSynonyms('refund', 'n')).toEqual(expect.arrayContaining(['repayment']));
    expect(englishSynonyms('arrived', 'v')).toEqual(['come', 'get']);
    expect(englishSynonyms('tracking', 'v')).toEqual(['chase', 'dog', 'tag', 'tail', 'trail']); // morphy: tracking -> track
    const out = await augmentText('The package arrived broken, I want a refund for order 12345.', [{ op: 'synonym', rate: 1 }], createRng(2));
    expect(out).toContain('12345');
    expect(out).not.toBe('The package arrived broken, I want a refund for order 12345.');
  });

  it('never delete negations or question words', async () => {
    for (let seed = 0; seed < 20; seed++) {
      const out = await augmentText('这个杯子不会生锈吗，我没有收到说明书', [{ op: 'delete', rate: 0.9 }], createRng(seed));
      expect(out).toContain('不');
      expect(out).toContain('吗');
      expect(out).toContain('没有');
    }
  });
});

describe('reordering', () => {
  it('swaps coordinate clauses within a sentence and never across one', async () => {
    const out = await augmentText('颜色很好看，质量也不错。什么时候发货？', [{ op: 'reorder' }], createRng(1));
    expect(out).toBe('质量也不错，颜色很好看。什么时候发货？');
    expect(await augmentText('今天我收到了', [{ op: 'reorder' }], createRng(1))).toBe('我今天收到了');
  });

  it('moves earlier exchanges but never the last user turn', () => {
    const s = official.find((x) => x.task === 'intent' && x.turns.filter((t) => t.role === 'user').length >= 4)!;
    const out = reorderTurns(s.turns, createRng(5));
    const lastUser = s.turns.map((t) => t.role).lastIndexOf('user');
    expect(out.slice(lastUser)).toEqual(s.turns.slice(lastUser));
    expect(multiset(out.map((t) => t.text))).toEqual(multiset(s.turns.map((t) => t.text)));
    expect(out).not.toEqual(s.turns);
  });
});

describe('the lexicon', () => {
  it('ships at least 400 groups covering all 23 intents, and the package embeds the datasets/ file', () => {
    const lex = ecommerceLexicon();
    expect(lex.groups.length).toBeGreaterThanOrEqual(400);
    const domains = new Set(lex.groups.map((g) => g.domain));
    for (const label of INTENT_LABELS.names) expect(domains, label).toContain(label);
    expect(ECOMMERCE_ZH_LEXICON).toBe(readFileSync(LEXICON_FILE, 'utf8'));
  });
});
