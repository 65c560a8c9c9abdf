import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createProgram, runCli } from './index.ts';

const isMain = process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
if (isMain) {
  const io = {
    stdout: (t: string) => void process.stdout.write(t),
    stderr: (t: string) => void process.stderr.write(t),
    progress: process.stderr.isTTY === true,
  };
  process.exitCode = await runCli(process.argv.slice(2), io);
}
export { createProgram };
