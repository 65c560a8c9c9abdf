import { type OcrLine, type Sample } from '@llm-ir/core';
import { imageOcr, sampleImages } from '@llm-ir/core/challenge';
import { type Rng } from '@llm-ir/core/run';
import { filterOcr, type OcrFilterOptions } from './filters.ts';

/** Opens the OCR text written after an `<image>` placeholder. */
export const OCR_OPEN = '<ocr>';
/** Closes it. */
export const OCR_CLOSE = '</ocr>';

/** How OCR text is written into prompts. */
export type OcrFormat = 'plain' | 'regions';

/** A box as ChatSpot's precise referring: `<box>(x1,y1),(x2,y2)</box>`, normalised, 3 decimals. */
export function formatBox(box: OcrLine['box']): string {
  const f = (x: number) => (Math.round(x * 1000) / 1000).toFixed(3);
  return `<box>(${f(box[0])},${f(box[1])}),(${f(box[2])},${f(box[3])})</box>`;
}

const BOX = /<box>\((-?[\d.]+),(-?[\d.]+)\),\((-?[\d.]+),(-?[\d.]+)\)<\/box>/g;

/** Reads every `<box>(x1,y1),(x2,y2)</box>` in a text. */
export function parseBoxes(text: string): Array<OcrLine['box']> {
  return [...text.matchAll(BOX)].map((m) => [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])]);
}

/**
 * The OCR text of one image as it goes into a prompt, on one line (the dialogue format is
 * line-based): `plain` joins the lines with ` | `; `regions` writes each line followed by its box,
 * `text<box>(x1,y1),(x2,y2)</box>`, joined with spaces.
 */
export function formatOcrText(lines: readonly OcrLine[], format: OcrFormat = 'plain'): string {
  const clean = lines.map((l) => ({ ...l, text: l.text.replace(/\s+/g, ' ').replace(/<\/?ocr>/g, '').trim() })).filter((l) => l.text !== '');
  if (format === 'regions') return clean.map((l) => `${l.text}${formatBox(l.box)}`).join(' ');
  return clean.map((l) => l.text).join(' | ');
}

/** Removes every `<ocr>...</ocr>` block from a text. */
export function stripOcr(text: string): string {
  return text.replace(/<ocr>[\s\S]*?<\/ocr>/g, '');
}

/** Options of {@link applyOcr}. */
export interface ApplyOcrOptions {
  /**
   * When OCR text enters prompts: `train` (training rows only), `infer` (test rows only) or
   * `both` — the paper's arms "OCR at training only" and "OCR at training and inference".
   */
  at: 'train' | 'infer' | 'both';
  /** Which rows these are. */
  split: 'train' | 'test';
  /** How the text is written. @default 'plain' */
  format?: OcrFormat;
  /** Filters applied to each image's lines first. @default the filters' defaults */
  filters?: OcrFilterOptions;
}

/**
 * Writes each image's OCR text into the sample right after its `<image>` placeholder, as
 * `<image><ocr>TEXT</ocr>` (the placeholder count is unchanged, so image binding still holds, and
 * `stripOcr` removes it again). Rows of a split the `at` option excludes come back unchanged, as do
 * images without OCR. OCR is looked up in `sample.ocr` by the image's SHA-256, else by its path.
 * Returns new samples; the input is not modified.
 *
 * Written format (stable): `<ocr>` + {@link formatOcrText} + `</ocr>`, e.g.
 * `<image><ocr>退款详情 | 退款成功 | ¥39.90</ocr>` or, with `format: 'regions'`,
 * `<image><ocr>退款成功<box>(0.062,0.163),(0.281,0.197)</box> ...</ocr>`.
 */
export function applyOcr(samples: readonly Sample[], options: ApplyOcrOptions): Sample[] {
  const active = options.at === 'both' || (options.at === 'train' ? options.split === 'train' : options.split === 'test');
  if (!active) return samples.map((s) => s);
  return samples.map((s) => {
    if (!s.ocr || sampleImages(s).length === 0) return s;
    const turns = s.turns.map((t) => {
      if (t.images.length === 0) return t;
      const parts = t.text.split('<image>');
      let text = parts[0]!;
      for (let i = 1; i < parts.length; i++) {
        const img = t.images[i - 1];
        const lines = img ? imageOcr(s, img) : undefined;
        const kept = lines ? filterOcr(lines, options.filters).lines : [];
        const ocrText = formatOcrText(kept, options.format);
        text += `<image>${ocrText ? `${OCR_OPEN}${ocrText}${OCR_CLOSE}` : ''}${parts[i]}`;
      }
      return { ...t, text };
    });
    return { ...s, turns };
  });
}

/**
 * Perturbs boxes by a relative scale (ChatSpot's robustness protocol: 0.1, 0.2, 0.3): each corner
 * moves by up to `scale` x the box's width (x) or height (y), uniformly; boxes stay inside [0, 1]
 * and keep x1 <= x2, y1 <= y2.
 */
export function jitterBoxes(lines: readonly OcrLine[], scale: number, rng: Rng): OcrLine[] {
  const c = (x: number) => Math.min(1, Math.max(0, x));
  return lines.map((l) => {
    const [x1, y1, x2, y2] = l.box;
    const w = x2 - x1;
    const h = y2 - y1;
    const nx1 = c(x1 + rng.uniform(-scale, scale) * w);
    const ny1 = c(y1 + rng.uniform(-scale, scale) * h);
    const nx2 = c(x2 + rng.uniform(-scale, scale) * w);
    const ny2 = c(y2 + rng.uniform(-scale, scale) * h);
    return { ...l, box: [Math.min(nx1, nx2), Math.min(ny1, ny2), Math.max(nx1, nx2), Math.max(ny1, ny2)] };
  });
}
