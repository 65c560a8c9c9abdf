#!/usr/bin/env node
// Launcher of the `llm-ir` command. The CLI is a private app of the monorepo and runs from its
// TypeScript source (through tsx, with the workspace's `@llm-ir/source` export condition), so
// `npx llm-ir ...` works right after `npm ci`, with no build step.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const tsx = import.meta.resolve('tsx');
const child = spawn(process.execPath, ['--conditions=@llm-ir/source', '--import', tsx, main, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { DOTENV_CONFIG_QUIET: 'true', ...process.env },
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
