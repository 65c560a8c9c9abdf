#!/usr/bin/env node
// Launcher of the `llm-ir` command. The CLI is a private app of the monorepo and runs from its
// TypeScript source (through tsx, with the workspace's `@llm-ir/source` export condition), so
// `npx llm-ir ...` works right after `npm ci`, with no build step.
//
// The CLI process never outlives this one: signals are passed on, and an IPC channel ties the two
// together (when this process dies, even by SIGKILL, the channel closes and the CLI cancels its run
// and exits). Started by npm (`npx llm-ir`, `npm exec`), this process also ends when npm dies.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const tsx = import.meta.resolve('tsx');
const child = spawn(process.execPath, ['--conditions=@llm-ir/source', '--import', tsx, main, ...process.argv.slice(2)], {
  stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
  env: { DOTENV_CONFIG_QUIET: 'true', ...process.env },
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
if (process.env.npm_command === 'exec') {
  // npm does not pass SIGKILL on: when the npm process that started us is gone, we are orphaned
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid !== parent) child.kill('SIGTERM');
  }, 500);
  watch.unref();
}
child.on('exit', (code, signal) => {
  if (signal) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  }
  else process.exit(code ?? 1);
});
