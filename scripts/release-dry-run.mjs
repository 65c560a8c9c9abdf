// `npm run release:dry-run`: a maintainer's release, rehearsed without publishing. In a temporary git
// worktree of HEAD: `changeset version` (consumes .changeset/*.md, bumps each package's version and
// internal dependency ranges, writes its CHANGELOG.md), then `npm publish --dry-run` of every package
// with the dist built from this checkout copied in (`--ignore-scripts`: the worktree has no
// node_modules for each package's `prepublishOnly: tsc -b`, which builds it on a real release).
// Prints old -> new version and the tarball of each; fails on any error.
// The real release is the same two steps on main: `npx changeset version`, commit, `npx changeset publish`.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = (cmd, args, cwd) => spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, NPM_CONFIG_AUDIT: 'false', NPM_CONFIG_FUND: 'false' } });
class Failure extends Error {}
const die = (msg, r) => {
  throw new Failure(`FAIL ${msg}\n${`${r?.stdout ?? ''}${r?.stderr ?? ''}`.split('\n').slice(-30).join('\n')}`);
};

const build = spawnSync('npx', ['turbo', 'run', 'build', '--output-logs=errors-only'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(1);
const pending = readdirSync(join(root, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md');
const base = mkdtempSync(join(tmpdir(), 'llm-ir-release-'));
const tree = join(base, 'repo');
const add = run('git', ['worktree', 'add', '--detach', tree, 'HEAD'], root);
if (add.status !== 0) {
  console.error(`FAIL git worktree add\n${add.stderr}`);
  process.exit(1);
}
let failure;
try {
  const dirs = readdirSync(join(tree, 'packages')).sort();
  const before = Object.fromEntries(dirs.map((d) => [d, JSON.parse(readFileSync(join(tree, 'packages', d, 'package.json'), 'utf8')).version]));
  const version = run(process.execPath, [join(root, 'node_modules', '@changesets', 'cli', 'bin.js'), 'version'], tree);
  if (version.status !== 0) die('changeset version', version);
  const left = readdirSync(join(tree, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md');
  if (left.length) die(`changeset version left ${left.length} changeset(s) unconsumed`);
  console.error(`ok   changeset version consumed ${pending.length} changeset(s)`);
  for (const d of dirs) {
    const pkg = join(tree, 'packages', d);
    const manifest = JSON.parse(readFileSync(pkg + '/package.json', 'utf8'));
    if (manifest.private) continue;
    if (!existsSync(join(pkg, 'CHANGELOG.md'))) die(`${manifest.name}: no CHANGELOG.md after changeset version`);
    cpSync(join(root, 'packages', d, 'dist'), join(pkg, 'dist'), { recursive: true });
    const r = run('npm', ['publish', '--dry-run', '--ignore-scripts', '--json', '--access', 'public', '--tag', 'dry-run'], pkg);
    if (r.status !== 0) die(`npm publish --dry-run ${manifest.name}`, r);
    const info = JSON.parse(r.stdout.slice(r.stdout.indexOf('{')));
    const entry = info[manifest.name] ?? info;
    console.error(`ok   ${manifest.name} ${before[d]} -> ${manifest.version}: ${entry.entryCount} files, ${(entry.size / 1024).toFixed(0)} kB packed (npm publish --dry-run)`);
  }
} catch (error) {
  if (!(error instanceof Failure)) throw error;
  failure = error;
} finally {
  run('git', ['worktree', 'remove', '--force', tree], root);
  rmSync(base, { recursive: true, force: true });
}
if (failure) {
  console.error(failure.message);
  process.exit(1);
}
console.error('release:dry-run: ok (nothing was published)');
