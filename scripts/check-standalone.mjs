// `npm run check:standalone`: proves every publishable package works alone, from its tarball, outside
// the workspace. Builds, `npm pack`s each package, installs all tarballs into a fresh project in a
// temporary folder (third-party dependencies from the registry, as a user gets them), then
//   1. type-checks each package README's first TypeScript example as an ESM consumer twice:
//      `module`/`moduleResolution` node16 and `moduleResolution` bundler (`tsc --noEmit`, strict);
//   2. runs each example there with tsx (the shared data is linked at `../shared` beside the project,
//      where the READMEs expect it).
// Fails on a missing dependency, file, export or type. The packages are ESM-only (publint + attw's
// esm-only profile in `check:packages`); no CommonJS consumer is claimed, so none is checked.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const keep = process.argv.includes('--keep');
const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { encoding: 'utf8', ...opts, env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', NPM_CONFIG_AUDIT: 'false', NPM_CONFIG_FUND: 'false', ...opts.env } });
const fail = (msg, r) => {
  console.error(`FAIL ${msg}`);
  if (r) console.error(`${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').slice(-30).join('\n'));
};

const build = run('npx', ['turbo', 'run', 'build', '--output-logs=errors-only'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(1);

const packages = readdirSync(join(root, 'packages'))
  .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) }))
  .filter((p) => !p.manifest.private)
  .sort((a, b) => a.dir.localeCompare(b.dir));
const base = mkdtempSync(join(tmpdir(), 'llm-ir-standalone-'));
const tarballs = join(base, 'tarballs');
const project = join(base, 'project');
mkdirSync(tarballs);
mkdirSync(project);
// the READMEs read ../shared/datasets (the checkout's neighbour): the same layout beside the project
symlinkSync(resolve(root, '..', 'shared'), join(base, 'shared'));
let failed = 0;
try {
  const deps = {};
  for (const p of packages) {
    const r = run('npm', ['pack', '--silent', '--pack-destination', tarballs], { cwd: join(root, 'packages', p.dir) });
    if (r.status !== 0) {
      fail(`npm pack ${p.manifest.name}`, r);
      failed++;
      break;
    }
    deps[p.manifest.name] = `file:../tarballs/${r.stdout.trim().split('\n').pop()}`;
  }
  if (failed) throw new Error('packing failed');
  const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const dev = Object.fromEntries(['typescript', '@types/node'].map((d) => [d, rootManifest.devDependencies[d]]));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'llm-ir-standalone-check', private: true, type: 'module', dependencies: deps, devDependencies: dev }, null, 2));
  const t0 = performance.now();
  const install = run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: project });
  if (install.status !== 0) {
    fail('npm install of the tarballs', install);
    failed++;
    throw new Error('install failed');
  }
  console.error(`ok   installed ${packages.length} tarballs into a fresh project (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  // every copy of an internal package, nested ones too, must be the packed tarball, not a registry copy
  const lock = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8'));
  const internal = new Set(packages.map((p) => p.manifest.name));
  for (const [path, entry] of Object.entries(lock.packages ?? {})) {
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    if (internal.has(name) && !String(entry.resolved ?? '').startsWith('file:')) {
      fail(`${path} resolved to ${entry.resolved}, not to the packed tarball`);
      failed++;
    }
  }

  const examples = [];
  for (const p of packages) {
    const readme = readFileSync(join(root, 'packages', p.dir, 'README.md'), 'utf8');
    const code = /```(?:ts|typescript)\n([\s\S]*?)```/.exec(readme)?.[1];
    if (!code) {
      fail(`${p.manifest.name}: README has no TypeScript example`);
      failed++;
      continue;
    }
    const file = `example-${p.dir}.ts`;
    writeFileSync(join(project, file), `${code}\nexport {};\n`);
    examples.push({ name: p.manifest.name, file });
  }

  const tsc = join(project, 'node_modules', 'typescript', 'bin', 'tsc');
  const common = { target: 'es2022', strict: true, noEmit: true, skipLibCheck: false, types: ['node'], allowImportingTsExtensions: false, lib: ['es2023'] };
  for (const [label, options] of [['node16', { module: 'node16', moduleResolution: 'node16' }], ['bundler', { module: 'esnext', moduleResolution: 'bundler' }]]) {
    writeFileSync(join(project, `tsconfig.${label}.json`), JSON.stringify({ compilerOptions: { ...common, ...options }, files: examples.map((e) => e.file) }, null, 2));
    const r = run(process.execPath, [tsc, '-p', `tsconfig.${label}.json`], { cwd: project });
    if (r.status === 0) console.error(`ok   the ${examples.length} README examples type-check as ESM consumers (moduleResolution ${label})`);
    else {
      fail(`type-check, moduleResolution ${label}`, r);
      failed++;
    }
  }

  const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  for (const e of examples) {
    const t = performance.now();
    const r = run(process.execPath, [tsx, e.file], { cwd: project, timeout: 600_000 });
    const seconds = ((performance.now() - t) / 1000).toFixed(1);
    if (r.status === 0) console.error(`ok   ${e.name}: README example ran from the tarball (${seconds} s)`);
    else {
      fail(`${e.name}: README example (${seconds} s)`, r);
      failed++;
    }
  }
} catch (error) {
  if (!failed) throw error;
} finally {
  if (keep) console.error(`kept ${base}`);
  else rmSync(base, { recursive: true, force: true });
}
console.error(`check:standalone: ${failed ? `${failed} failure(s)` : 'every package works alone from its tarball'}`);
process.exit(failed ? 1 : 0);
