// Points fontconfig (used by sharp's SVG text rendering) at the OFL-1.1 Noto Sans Hans fonts of the
// npm package @embedpdf/fonts-sc, and only at them, so Chinese renders the same on every machine
// without system fonts. Call before the first text is rendered in the process.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The font family name to use in SVG `font-family`. */
export const CJK_FONT = 'Noto Sans S Chinese';

let configured;

/** Writes a private fonts.conf and sets FONTCONFIG_FILE; returns the font family name. */
export function useCjkFont() {
  if (configured) return configured;
  const fonts = join(dirname(fileURLToPath(import.meta.resolve('@embedpdf/fonts-sc'))), '..', 'fonts');
  const dir = mkdtempSync(join(tmpdir(), 'llm-ir-fonts-'));
  const conf = join(dir, 'fonts.conf');
  writeFileSync(
    conf,
    `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig><dir>${fonts}</dir><cachedir>${join(dir, 'cache')}</cachedir>` +
      `<alias><family>sans-serif</family><prefer><family>${CJK_FONT}</family></prefer></alias></fontconfig>\n`,
  );
  process.env.FONTCONFIG_FILE = conf;
  configured = CJK_FONT;
  return CJK_FONT;
}
