import { Command, CommanderError } from 'commander';
import { dataCommand } from './commands/data.ts';
import { evalCommands } from './commands/eval.ts';
import { ocrCommand } from './commands/ocr.ts';
import { augmentCommand } from './commands/augment.ts';
import { indexCommand } from './commands/index-cmd.ts';
import { distillCommand } from './commands/distill.ts';
import { trainCommands } from './commands/train.ts';
import { runCommand } from './commands/run.ts';
import { CliExit, describeError, EXIT, type CliIo } from './context.ts';

export type { CliIo } from './context.ts';
export { EXIT } from './context.ts';

/** Builds the `llm-ir` program with every subcommand, writing through `io`. */
export function createProgram(io: CliIo): Command {
  const program = new Command('llm-ir')
    .description('Multimodal intent recognition for e-commerce dialogues with LLMs: data, OCR, augmentation, retrieval, training, evaluation.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  program.addCommand(dataCommand(io));
  for (const c of evalCommands(io)) program.addCommand(c);
  program.addCommand(ocrCommand(io));
  program.addCommand(augmentCommand(io));
  program.addCommand(indexCommand(io));
  program.addCommand(distillCommand(io));
  for (const c of trainCommands(io)) program.addCommand(c);
  program.addCommand(runCommand(io));
  const exitOverride = (cmd: Command) => {
    cmd.exitOverride();
    cmd.configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
    for (const sub of cmd.commands) exitOverride(sub);
  };
  exitOverride(program);
  return program;
}

/**
 * Runs the CLI with `argv` (without `node` and the script) and returns the exit code. Errors of
 * bad input become one line on stderr (no stack trace); unexpected errors also show their stack
 * when `LLM_IR_DEBUG` is set.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = createProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CliExit) return error.exitCode;
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT.ok;
      return EXIT.partial;
    }
    io.stderr(`${describeError(error)}\n`);
    if (process.env['LLM_IR_DEBUG'] && error instanceof Error && error.stack) io.stderr(`${error.stack}\n`);
    return EXIT.failed;
  }
}
