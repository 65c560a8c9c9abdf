#!/usr/bin/env node
// Fakes of `ssh <host> <command>` and `rsync -az <src> <dst>` for tests: the "remote host" is this
// machine (paths are used as they are), so the ssh executor's protocol runs end to end.
import { execFileSync, spawnSync } from 'node:child_process';
import { basename } from 'node:path';

const tool = process.env.FAKE_TOOL ?? basename(process.argv[1]).replace(/\.mjs$/, '');
const args = process.argv.slice(2);
if (tool === 'ssh') {
  const rest = args.filter((a, i) => !(a === '-o' || args[i - 1] === '-o'));
  const [, ...command] = rest;
  const r = spawnSync('bash', ['-c', command.join(' ')], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
} else if (tool === 'rsync') {
  const paths = args.filter((a) => !a.startsWith('-')).map((p) => p.replace(/^[^/:]+:/, ''));
  execFileSync('mkdir', ['-p', paths[1]]);
  execFileSync('cp', ['-a', `${paths[0].replace(/\/$/, '')}/.`, paths[1]]);
}
