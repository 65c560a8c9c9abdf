// `npm run lint`: repository rules that a type checker does not see.
// - no import reaches into another package's internals (`@llm-ir/x/src/...`, `../../packages/...`)
// - each workspace's tsconfig references match its @llm-ir dependencies
// - each publishable package has a README, an `exports` map with source/types/default, and `files`
// - no absolute path of a development machine is written into the sources
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const problems = [];
const workspaces = ['packages', 'apps'].flatMap((d) =>
  existsSync(join(root, d)) ? readdirSync(join(root, d)).map((n) => join(root, d, n)).filter((p) => existsSync(join(p, 'package.json'))) : [],
);
const names = new Map(workspaces.map((w) => [JSON.parse(readFileSync(join(w, 'package.json'), 'utf8')).name, w]));

function* files(dir) {
  for (const e of readdirSync(dir)) {
    if (e === 'node_modules' || e === 'dist') continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) yield* files(p);
    else if (/\.(ts|mts|mjs|js)$/.test(e)) yield p;
  }
}

for (const w of workspaces) {
  const pkg = JSON.parse(readFileSync(join(w, 'package.json'), 'utf8'));
  const rel = relative(root, w);
  for (const f of files(w)) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/from\s+['"]([^'"]+)['"]/g)) {
      const spec = m[1];
      if (/^@llm-ir(-app)?\/[^/]+\/src\b/.test(spec)) problems.push(`${relative(root, f)}: deep import ${spec}`);
      if (/^(\.\.\/)+(packages|apps)\//.test(spec)) problems.push(`${relative(root, f)}: import across workspaces by path ${spec}`);
    }
    if (/\/(work|home|root|Users)\/[\w.-]+\/[\w.-]+/.test(text.replace(/https?:\/\/\S+/g, ''))) {
      for (const line of text.split('\n')) if (/['"`]\/(work|home|Users)\//.test(line)) problems.push(`${relative(root, f)}: absolute machine path: ${line.trim().slice(0, 80)}`);
    }
  }
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
console.error(problems.length ? `lint: ${problems.length} problem(s)` : `lint: ${workspaces.length} workspaces ok`);
process.exit(problems.length ? 1 : 0);
