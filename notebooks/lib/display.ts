// Rich output for the notebooks (Deno kernel). Every helper sends its MIME bundle as a `display_data`
// message while the cell still runs (`Deno.jupyter.display(bundle, { raw: true })`), then yields for
// 50 ms. Measured with Deno 2.9.6 and nbclient 0.7.2: in a cell that finishes within milliseconds,
// both a last-value `execute_result` and an immediate `display_data` were lost in about one headless
// run in two (the client stops reading a cell's messages at the kernel's idle status, which overtook
// them); with the pause, none was lost in repeated runs. `npm run notebooks` also fails when a cell
// that has output in the committed notebook comes back without any.

import { Buffer } from 'node:buffer';
import sharp from 'sharp';

type Bundle = Record<string, string>;
declare const Deno: { jupyter: { display(bundle: Bundle, options: { raw: true }): Promise<void> } };

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
const escapeHtml = (s: string): string => s.replace(/[&<>"]/g, (c) => ESCAPES[c]!);

/** Shows a MIME bundle now. */
export async function show(bundle: Bundle): Promise<void> {
  await Deno.jupyter.display(bundle, { raw: true });
  await new Promise((resolve) => setTimeout(resolve, 50));
}

/** Shows a line of text. */
export function text(line: string): Promise<void> {
  return show({ 'text/plain': line });
}

/** Shows markup as HTML (trusted markup: the caller escapes what it interpolates), with a plain-text twin. */
export function html(markup: string, plain = markup.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim()): Promise<void> {
  return show({ 'text/html': markup, 'text/plain': plain });
}

/** Shows rows as an HTML table (every cell escaped) with a tab-separated plain-text twin. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): Promise<void> {
  const cells = (tag: string, r: readonly string[]) => `<tr>${r.map((c) => `<${tag}>${escapeHtml(c)}</${tag}>`).join('')}</tr>`;
  return html(`<table><thead>${cells('th', headers)}</thead><tbody>${rows.map((r) => cells('td', r)).join('')}</tbody></table>`, [headers, ...rows].map((r) => r.join('\t')).join('\n'));
}

/**
 * Shows an SVG chart as a PNG rendered at 2x (sharp / librsvg, with the fonts fontconfig offers:
 * `npm run notebooks` points it at the Noto Sans SC fonts from npm so Chinese labels render the same
 * everywhere). Not as `image/svg+xml`: nbconvert 6.5's HTML export strips SVG elements when it sanitises.
 */
export async function chart(document: string): Promise<void> {
  const bytes = await sharp(Buffer.from(document), { density: 144 }).png().toBuffer();
  await png(bytes);
}

/** Shows PNG bytes. */
export function png(bytes: Uint8Array): Promise<void> {
  return show({ 'image/png': btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join('')), 'text/plain': '[image]' });
}
