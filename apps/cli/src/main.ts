import { realpathSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createProgram, runCli } from './index.ts';

const isMain = process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
if (isMain) {
  // Ctrl-C, SIGTERM and SIGHUP cancel the command: runs end `cancelled` in run.json, then the process
  // exits 128 + the signal's number. So does the death of the launcher (bin/llm-ir.js) that started
  // this process: its IPC channel closes, and nothing keeps running and writing without a parent.
  const controller = new AbortController();
  let exitCode = 0;
  const cancel = (reason: string, code: number) => {
    if (controller.signal.aborted) return;
    exitCode = code;
    process.stderr.write(`\n${reason}: cancelling\n`);
    controller.abort(reason);
    // a stage that ignores the signal does not keep the process alive past the run record's update
    setTimeout(() => process.exit(code), 10_000).unref();
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => cancel(signal, 128 + constants.signals[signal]));
  if (process.send) {
    process.on('disconnect', () => cancel('launcher exited', 128 + constants.signals.SIGTERM));
    process.channel?.unref();
  }
  const io = {
    stdout: (t: string) => void process.stdout.write(t),
    stderr: (t: string) => void process.stderr.write(t),
    progress: process.stderr.isTTY === true,
    signal: controller.signal,
  };
  const code = await runCli(process.argv.slice(2), io);
  // after a cancel the stages wind down on the signal (the OCR pool closes its workers); the timer
  // set by `cancel` ends the process if one does not
  process.exitCode = controller.signal.aborted ? exitCode : code;
}
export { createProgram };
