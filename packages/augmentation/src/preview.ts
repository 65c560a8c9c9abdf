import sharp, { type OverlayOptions } from 'sharp';
import { createRng } from '@llm-ir/core/run';
import { augmentImage, type ImagePolicy } from './image-ops.ts';

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Options of {@link contactSheet}. */
export interface ContactSheetOptions {
  /** Variants besides the original. @default 11 */
  variants?: number;
  /** Images per row. @default 4 */
  columns?: number;
  /** Width of each cell in pixels. @default 240 */
  cellWidth?: number;
  /** Seed of the variants. @default 0 */
  seed?: number | string;
}

/**
 * A contact sheet for a person to look at: the original image and its variants under a policy in a
 * grid, each captioned with the operations and parameters applied. Returns PNG bytes.
 */
export async function contactSheet(image: Uint8Array | string, policy: ImagePolicy, options: ContactSheetOptions = {}): Promise<Buffer> {
  const n = options.variants ?? 11;
  const columns = options.columns ?? 4;
  const cellW = options.cellWidth ?? 240;
  const original = await sharp(image).autoOrient().flatten({ background: '#ffffff' }).png().toBuffer();
  const tiles: Array<{ data: Buffer; caption: string }> = [{ data: original, caption: 'original' }];
  const rng = createRng(options.seed ?? 0);
  for (let i = 0; i < n; i++) {
    const r = await augmentImage(image, policy, rng.fork(`variant-${i}`), { format: 'png' });
    tiles.push({ data: r.data, caption: r.applied.map((a) => `${a.op}(${Object.values(a.params).join(',')})`).join(' ') || 'no op' });
  }
  const thumbs = await Promise.all(tiles.map((t) => sharp(t.data).resize({ width: cellW - 12, height: Math.round((cellW - 12) * 2.2), fit: 'inside' }).png().toBuffer({ resolveWithObject: true })));
  const cellH = Math.max(...thumbs.map((t) => t.info.height)) + 40;
  const rows = Math.ceil(tiles.length / columns);
  const composites: OverlayOptions[] = [];
  tiles.forEach((t, i) => {
    const x = (i % columns) * cellW;
    const y = Math.floor(i / columns) * cellH;
    composites.push({ input: thumbs[i]!.data, left: x + 6, top: y + 6 });
    const caption = t.caption.length > 44 ? `${t.caption.slice(0, 43)}…` : t.caption;
    composites.push({
      input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${cellW}" height="30"><text x="6" y="18" font-size="11" font-family="DejaVu Sans, sans-serif" fill="#333">${escapeXml(caption)}</text></svg>`),
      left: x,
      top: y + cellH - 34,
    });
  });
  return sharp({ create: { width: columns * cellW, height: rows * cellH, channels: 3, background: '#e8e8e8' } }).composite(composites).png().toBuffer();
}
