// Rich output for the notebooks (Deno kernel): any value with a `Symbol.for('Jupyter.display')`
// method is shown as the MIME bundle it returns (Deno's `Deno.jupyter.$display` protocol), so a cell
// ending in `table(...)` renders an HTML table in Jupyter and on GitHub, and plain text elsewhere.

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
const escapeHtml = (s: string): string => s.replace(/[&<>"]/g, (c) => ESCAPES[c]!);

/** A displayable value: `text/html` for notebook front ends, `text/plain` for everything else. */
export interface Displayable {
  [key: symbol]: () => Record<string, string>;
}

/** Shows `markup` as HTML (trusted markup: the caller escapes what it interpolates). */
export function html(markup: string, plain = markup.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim()): Displayable {
  return { [Symbol.for('Jupyter.display')]: () => ({ 'text/html': markup, 'text/plain': plain }) };
}

/** Shows rows as an HTML table (every cell escaped) with a tab-separated plain-text twin. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): Displayable {
  const cells = (tag: string, r: readonly string[]) => `<tr>${r.map((c) => `<${tag}>${escapeHtml(c)}</${tag}>`).join('')}</tr>`;
  const markup = `<table><thead>${cells('th', headers)}</thead><tbody>${rows.map((r) => cells('td', r)).join('')}</tbody></table>`;
  return html(markup, [headers, ...rows].map((r) => r.join('\t')).join('\n'));
}
