import { describe, expect, it } from 'vitest';
import { INTENT_LABELS, SCENE_LABELS, labelSetOf, matchLabel } from './labels.ts';

describe('label sets', () => {
  it('hold 25 scene and 23 intent labels in prompt order with glosses', () => {
    expect(SCENE_LABELS.names).toHaveLength(25);
    expect(INTENT_LABELS.names).toHaveLength(23);
    expect(SCENE_LABELS.names[0]).toBe('实物拍摄(含售后)');
    expect(INTENT_LABELS.names.at(-1)).toBe('气泡');
    expect(SCENE_LABELS.get('refund page')?.zh).toBe('退款页面');
    expect(INTENT_LABELS.get('何时上货')?.en).toBe('Restock time');
    expect(labelSetOf('intent')).toBe(INTENT_LABELS);
    expect(SCENE_LABELS.indexOf('退款页面')).toBe(12);
  });
});

describe('matchLabel', () => {
  it.each([
    ['退款页面', '退款页面', 'exact'],
    ['  退款页面。', '退款页面', 'normalized'],
    ['「退款页面」', '退款页面', 'normalized'],
    ['"退款页面"\n', '退款页面', 'normalized'],
    ['分类标签：退款页面', '退款页面', 'normalized'],
    ['实物拍摄（含售后）', '实物拍摄(含售后)', 'normalized'],
    ['下单过程中出现异常(显示购买失败浮窗)', '下单过程中出现异常（显示购买失败浮窗）', 'normalized'],
    ['账单 / 账户页面', '账单/账户页面', 'normalized'],
    ['Refund page', '退款页面', 'gloss'],
    ['refund PAGE.', '退款页面', 'gloss'],
    ['这张图片属于退款页面。', '退款页面', 'contained'],
    ['物流页面－物流跟踪页面', '物流页面-物流跟踪页面', 'normalized'],
  ])('maps %j to %s', (text, label, how) => {
    expect(matchLabel(text, SCENE_LABELS)).toEqual({ ok: true, label, how });
  });

  it('says when it cannot decide', () => {
    expect(matchLabel('', SCENE_LABELS)).toEqual({ ok: false, reason: 'empty' });
    expect(matchLabel('。', SCENE_LABELS)).toEqual({ ok: false, reason: 'empty' });
    expect(matchLabel('我不知道', SCENE_LABELS)).toEqual({ ok: false, reason: 'no-match' });
    const amb = matchLabel('退款页面或者退货页面', SCENE_LABELS);
    expect(amb.ok).toBe(false);
    if (!amb.ok) expect(amb.candidates?.sort()).toEqual(['退款页面', '退货页面'].sort());
  });

  it('maps every canonical label and gloss of both sets to itself', () => {
    for (const set of [SCENE_LABELS, INTENT_LABELS]) {
      for (const l of set.labels) {
        expect(matchLabel(l.zh, set)).toMatchObject({ ok: true, label: l.zh });
        expect(matchLabel(` ${l.en} `, set)).toMatchObject({ ok: true, label: l.zh });
        expect(matchLabel(`【${l.zh}】。`, set)).toMatchObject({ ok: true, label: l.zh });
      }
    }
  });
});
