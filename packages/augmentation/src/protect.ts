/** A piece of text: protected pieces are never changed by text operations. */
export interface Segment {
  /** The text. */
  text: string;
  /** True for placeholders, links, emoticon codes, OCR blocks, numbers, model numbers and units. */
  protected: boolean;
}

const UNITS = [
  'mm', 'cm', 'km', 'm', 'ml', 'mL', 'L', 'kg', 'g', 'mg', 'W', 'kW', 'V', 'mAh', 'Ah', 'Hz', 'GB', 'TB', 'MB', 'G', 'K', 'inch', 'in', '%', '°',
  '毫米', '厘米', '公分', '米', '千米', '公里', '毫升', '升', '克', '千克', '公斤', '斤', '两', '吨', '寸', '英寸', '尺', '码', '瓦', '伏', '毫安', '度', '元', '块', '角', '分钟', '小时', '天', '周', '个月', '月', '年', '岁', '件', '个', '只', '双', '对', '套', '盒', '箱', '包', '袋', '瓶', '片', '支', '条', '张', '台', '部', '次', '号', '层', '人', '倍', '折', '期', 'P', 'p',
].sort((a, b) => b.length - a.length);

const EN_UNITS = ['days?', 'hours?', 'minutes?', 'mins?', 'weeks?', 'months?', 'years?', 'pcs', 'pieces?', 'inch(?:es)?', 'items?', 'times', 'yuan', 'dollars?', 'kg', 'lbs?', 'ml', 'cm', 'mm'];

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * What is protected, in priority order: OCR blocks and boxes, `<...>` tags and placeholders
 * (`<image>`, `<http>`, `<dxm:highlight>`), links, emoticon codes (`/:068`, `/:b`), model numbers and
 * codes (letters mixed with digits: `SF1234567890123`, `iPhone15`, `X200-Pro`), numbers with their
 * unit (`3公斤`, `15.6寸`, `100W`, `¥39.90`, `50%`), bare numbers, and full-width digits.
 */
export const PROTECTED = new RegExp(
  [
    '<ocr>[\\s\\S]*?</ocr>',
    '<box>[^<]*</box>',
    '<[^<>\\s]{1,40}>',
    'https?://[^\\s<>"]+',
    'www\\.[^\\s<>"]+',
    '/:[A-Za-z0-9_]{1,6}',
    '[A-Za-z]*\\d+[A-Za-z0-9]*(?:[-_][A-Za-z0-9]+)+',
    '[A-Za-z]+\\d[A-Za-z0-9]*',
    '\\d+[A-Za-z]+\\d[A-Za-z0-9]*',
    `[¥￥$€]?\\d+(?:[.,:：/]\\d+)*(?:\\s?(?:${EN_UNITS.join('|')})\\b|${UNITS.map(escape).join('|')})?`,
    '[０-９]+',
  ].join('|'),
  'gu',
);

/** Splits text into protected and free segments (adjacent free text stays one segment). */
export function segmentProtected(text: string): Segment[] {
  const out: Segment[] = [];
  let last = 0;
  for (const m of text.matchAll(PROTECTED)) {
    if (m.index > last) out.push({ text: text.slice(last, m.index), protected: false });
    out.push({ text: m[0], protected: true });
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push({ text: text.slice(last), protected: false });
  return out;
}

/** Every protected span of a text, in order (the invariant text ops must keep). */
export function protectedSpans(text: string): string[] {
  return segmentProtected(text).filter((s) => s.protected).map((s) => s.text);
}
