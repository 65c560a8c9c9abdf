import cliProgress from 'cli-progress';
import type { ProgressCallback, ProgressEvent } from '@llm-ir/core';

/**
 * A progress callback that draws one bar per stage on stderr when stderr is a terminal, and does
 * nothing otherwise (pipes, CI, `--json`), so machine-readable output stays clean.
 */
export function terminalProgress(options: { enabled?: boolean; stream?: NodeJS.WriteStream } = {}): ProgressCallback {
  const stream = options.stream ?? process.stderr;
  const enabled = options.enabled ?? (stream.isTTY === true && process.env['CI'] === undefined);
  if (!enabled) return () => {};
  const bars = new Map<string, cliProgress.SingleBar>();
  return (e: ProgressEvent) => {
    if (e.type === 'stage-start') {
      const bar = new cliProgress.SingleBar(
        { stream, format: `${e.stage.padEnd(18)} {bar} {value}/{total} ${e.unit}s | {percentage}% | eta {eta_formatted}`, hideCursor: true, clearOnComplete: false },
        cliProgress.Presets.shades_classic,
      );
      bar.start(e.total ?? 0, 0);
      bars.set(e.stage, bar);
    } else if (e.type === 'stage-progress') {
      const bar = bars.get(e.stage);
      if (e.total === undefined) bar?.setTotal(e.completed);
      bar?.update(e.completed);
    } else {
      bars.get(e.stage)?.stop();
      bars.delete(e.stage);
    }
  };
}
