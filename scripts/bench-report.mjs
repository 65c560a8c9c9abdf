// Renders benchmarks/results/*.json into BENCHMARKS.md (one table per bench).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RESULTS_DIR } from './bench-lib.mjs';

const files = readdirSync(RESULTS_DIR).filter((f) => f.endsWith('.json')).sort();
const out = [
  '# Benchmarks',
  '',
  'Made by `npm run bench` (each package\'s `bench` script writes `benchmarks/results/<bench>.json`;',
  '`scripts/bench-report.mjs` renders this page). Every row is measured against its named reference',
  'in the same run on the same machine; **ratio** is how many times faster ours is (above 1: ours faster).',
  '',
];
for (const f of files) {
  const r = JSON.parse(readFileSync(join(RESULTS_DIR, f), 'utf8'));
  const m = r.machine;
  out.push(`## ${r.package} — ${r.bench}`, '');
  out.push(`${r.date.slice(0, 10)} · ${m.cpu} · ${m.cores} cores · ${m.memoryGiB} GiB · Node ${m.node}`, '');
  out.push('| measure | ours | reference | reference value | ratio | note |', '|---|---|---|---|---|---|');
  for (const row of r.rows) {
    const v = (x) => (x === undefined || x === null ? '' : `${x} ${row.unit ?? ''}`.trim());
    out.push(`| ${row.name} | ${v(row.value)} | ${row.reference ?? ''} | ${v(row.referenceValue)} | ${row.ratio ?? ''} | ${row.note ?? ''} |`);
  }
  out.push('');
}
for (const f of readdirSync(RESULTS_DIR).filter((f) => f.endsWith('.md')).sort()) {
  out.push(readFileSync(join(RESULTS_DIR, f), 'utf8').trim(), '');
}
writeFileSync(new URL('../BENCHMARKS.md', import.meta.url), `${out.join('\n')}`);
console.error(`BENCHMARKS.md: ${files.length} bench(es)`);
