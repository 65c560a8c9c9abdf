// The workspace rules of `npm run lint` that neither ESLint (code: eslint.config.mjs) nor knip (dead
// exports and dependencies: knip.json) sees:
// - each workspace's tsconfig references match its @llm-ir dependencies, and the root's list them all
// - each publishable package has a README, an `exports` map with source/types/default, and `files`
// - each package imports (in its non-test sources) and depends on only the packages ARCHITECTURE.md's
//   "Who may import whom" allows
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
// ARCHITECTURE.md, "Who may import whom": the one import graph of the packages (apps may import every package)
const MAY_IMPORT = {
  '@llm-ir/core': [],
  '@llm-ir/augmentation': ['@llm-ir/core'],
  '@llm-ir/ocr': ['@llm-ir/core'],
  '@llm-ir/eval': ['@llm-ir/core'],
  '@llm-ir/rag-index': ['@llm-ir/core', '@llm-ir/augmentation'],
  '@llm-ir/distill': ['@llm-ir/core', '@llm-ir/augmentation'],
  '@llm-ir/trainer-bridge': ['@llm-ir/core', '@llm-ir/distill'],
};
const sources = (dir) => readdirSync(dir, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile() && /\.tsx?$/.test(e.name) && !/\.test(-d)?\.tsx?$/.test(e.name) && !join(e.parentPath, e.name).includes('__fixtures__'))
  .map((e) => join(e.parentPath, e.name));
for (const w of workspaces.filter((p) => relative(root, p).startsWith('packages'))) {
  const pkg = JSON.parse(readFileSync(join(w, 'package.json'), 'utf8'));
  const rel = relative(root, w);
  const allowed = MAY_IMPORT[pkg.name];
  if (!allowed) {
    problems.push(`${rel}: ${pkg.name} is not in MAY_IMPORT (scripts/workspaces.mjs) and ARCHITECTURE.md`);
    continue;
  }
  const runtime = new Set(Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies }));
  for (const d of [...runtime].filter((d) => names.has(d) && !allowed.includes(d))) problems.push(`${rel}/package.json: depends on ${d}, which ${pkg.name} may not import (ARCHITECTURE.md)`);
  for (const file of sources(join(w, 'src'))) {
    // the testing entry points (fakes for other packages' tests) may use what the tests use
    if (relative(w, file).split('/')[1] === 'testing') continue;
    // static, side-effect, type-only and dynamic imports and re-exports; comment lines (TSDoc examples) are not code
    const code = readFileSync(file, 'utf8').split('\n').filter((l) => !/^\s*(\/\/|\*|\/\*)/.test(l)).join('\n');
    for (const m of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"](@llm-ir(?:-[a-z]+)?\/[a-z-]+)/g)) {
      if (m[1] === pkg.name) continue;
      if (!allowed.includes(m[1])) problems.push(`${relative(root, file)}: imports ${m[1]}, which ${pkg.name} may not import (ARCHITECTURE.md)`);
      else if (!runtime.has(m[1])) problems.push(`${relative(root, file)}: imports ${m[1]}, which ${rel}/package.json does not list in "dependencies" (an installed package would not find it)`);
    }
  }
}

const rootRefs = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')).references.map((r) => join(root, r.path));
for (const w of workspaces) if (existsSync(join(w, 'tsconfig.json')) && !rootRefs.includes(w)) problems.push(`tsconfig.json: missing reference to ${relative(root, w)}`);

for (const p of problems) console.error(p);
console.error(problems.length ? `workspaces: ${problems.length} problem(s)` : `workspaces: ${workspaces.length} ok`);
process.exit(problems.length ? 1 : 0);
