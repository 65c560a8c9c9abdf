// The workspace rules of `npm run lint` that neither ESLint (code: eslint.config.mjs) nor knip (dead
// exports and dependencies: knip.json) sees:
// - each workspace's tsconfig references match its @llm-ir dependencies, and the root's list them all
// - each publishable package has a README, an `exports` map with source/types/default, and `files`
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const problems = [];
const workspaces = ['packages', 'apps'].flatMap((d) =>
  existsSync(join(root, d)) ? readdirSync(join(root, d)).map((n) => join(root, d, n)).filter((p) => existsSync(join(p, 'package.json'))) : [],
);
const names = new Map(workspaces.map((w) => [JSON.parse(readFileSync(join(w, 'package.json'), 'utf8')).name, w]));

for (const w of workspaces) {
  const pkg = JSON.parse(readFileSync(join(w, 'package.json'), 'utf8'));
  const rel = relative(root, w);
  const deps = Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies }).filter((d) => names.has(d));
  const tsconfig = join(w, 'tsconfig.json');
  if (existsSync(tsconfig)) {
    const refs = (JSON.parse(readFileSync(tsconfig, 'utf8')).references ?? []).map((r) => join(w, r.path)).map((p) => p.replace(/\/$/, ''));
    for (const d of deps) if (!refs.includes(names.get(d))) problems.push(`${rel}/tsconfig.json: missing reference to ${d}`);
  }
  if (!pkg.private) {
    if (!existsSync(join(w, 'README.md'))) problems.push(`${rel}: no README.md`);
    if (!pkg.files) problems.push(`${rel}: no "files" list`);
    const dot = pkg.exports?.['.'];
    if (!dot || !dot['@llm-ir/source'] || !dot.types || !dot.default) problems.push(`${rel}: exports["."] needs @llm-ir/source, types and default`);
    if (pkg.type !== 'module') problems.push(`${rel}: must be "type": "module"`);
  }
}
const rootRefs = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')).references.map((r) => join(root, r.path));
for (const w of workspaces) if (existsSync(join(w, 'tsconfig.json')) && !rootRefs.includes(w)) problems.push(`tsconfig.json: missing reference to ${relative(root, w)}`);

for (const p of problems) console.error(p);
console.error(problems.length ? `workspaces: ${problems.length} problem(s)` : `workspaces: ${workspaces.length} ok`);
process.exit(problems.length ? 1 : 0);
