import { type Sample } from '@llm-ir/core';
import { imageOcr } from '@llm-ir/core/challenge';
import { segmenter } from '@llm-ir/augmentation';

/** Segments Chinese (and mixed) text with jieba into space-separated words (for full-text search). */
export function segmentWords(text: string): string {
  return segmenter()
    .cutForSearch(text.normalize('NFKC').toLowerCase(), true)
    .map((w) => w.trim())
    .filter((w) => w !== '' && /[\p{L}\p{N}]/u.test(w))
    .join(' ');
}

const NOISE = /<image>|<http>|<\/?ocr>|<box>[^<]*<\/box>|<[^<>\s]{1,40}>|\/:[A-Za-z0-9_]{1,6}/g;

/** A turn's text without placeholders, tags (OCR, boxes) and emoticon codes, spaces collapsed. */
export const plainText = (text: string): string => text.replace(NOISE, ' ').replace(/\s+/g, ' ').trim();

/**
 * The searchable text of a sample: its dialogue (`用户:` / `客服:` turns, placeholders and emoticon
 * codes removed; user turns only with `userOnly`). Never its label.
 */
export function dialogueText(sample: Pick<Sample, 'turns'>, options: { userOnly?: boolean } = {}): string {
  return sample.turns
    .filter((t) => !options.userOnly || t.role === 'user')
    .map((t) => `${t.role === 'user' ? '用户' : '客服'}: ${plainText(t.text)}`)
    .filter((l) => !/^(用户|客服): ?$/.test(l))
    .join('\n');
}

/** All OCR text of a sample's images, in image order (lines joined with spaces). */
export function ocrText(sample: Pick<Sample, 'turns' | 'ocr'>): string {
  if (!sample.ocr) return '';
  const parts: string[] = [];
  for (const img of sample.turns.flatMap((t) => t.images)) {
    const lines = imageOcr(sample, img);
    if (lines) parts.push(lines.map((l) => l.text).join(' '));
  }
  return parts.join(' ').trim();
}

/**
 * The text a sample is embedded and searched by: the customer's turns (or the whole dialogue with
 * `turns: 'all'`) plus its OCR text. Agent replies are long boilerplate that drowns the intent, so
 * by default they are left out (measured: nearest-exemplar label accuracy rises markedly).
 */
export function queryText(sample: Pick<Sample, 'turns' | 'ocr'>, options: { turns?: 'user' | 'all' } = {}): string {
  const o = ocrText(sample);
  const d = dialogueText(sample, { userOnly: (options.turns ?? 'user') === 'user' });
  return [d, o ? `图片文字: ${o}` : ''].filter(Boolean).join('\n');
}
