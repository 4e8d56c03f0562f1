// `nst`: the command-line front end, thin over the engine.

import { Command, CommanderError } from 'commander';
import { stylizeCommand } from './commands/stylize.js';
import { stylizeVideoCommand } from './commands/stylize-video.js';
import { lossCommand } from './commands/loss.js';
import { benchCommand } from './commands/bench.js';
import { weightsCommand } from './commands/weights.js';
import { videoCommand } from './commands/video.js';
import { estimateCommand } from './commands/estimate.js';
import { devicesCommand } from './commands/devices.js';
import { batchCommand } from './commands/batch.js';
import { resumeCommand, runsCommand } from './commands/resume.js';
import { EXIT_CODES, exitCodeFor, reportError } from './output.js';
import { asNstError, checkDataFolder } from '../engine/index.js';
import { printable } from '../shared/printable.js';

export function buildProgram(): Command {
  const program = new Command('nst')
    .description('Neural Style Studio: Gatys neural style transfer on VGG19, headless')
    .option('--debug', 'print stack traces with errors');
  usageErrorsAsOneLine(program);
  for (const command of [stylizeCommand(), stylizeVideoCommand(), lossCommand(), benchCommand(), weightsCommand(), videoCommand(), estimateCommand(), devicesCommand(), batchCommand(), resumeCommand(), runsCommand()]) program.addCommand(usageErrorsAsOneLine(command));
  // Weights, checkpoints and the device verdict live in the data folder: an NST_DATA_DIR naming a file is said
  // first, not as the errno of whichever read or write meets it (hooks on the program run for every command).
  program.hook('preAction', () => checkDataFolder({ write: false }));
  return program;
}

/**
 * Commander's usage errors ("error: unknown option '--x'" then a "(Did you mean …?)" line or a help hint) speak
 * like every other nst error: one `nst: ` line on stderr. addCommand does not pass settings down, so each command
 * is configured itself.
 */
function usageErrorsAsOneLine(command: Command): Command {
  // Subcommands (`nst weights fetch`) too.
  for (const sub of command.commands) usageErrorsAsOneLine(sub);
  return command.exitOverride().configureOutput({
    outputError: (message, write) => {
      const usage = `${commandPath(command)} --help`;
      const sentence = message.replace(/^error:\s*/, '').replace(/\s*\n\s*/g, ' ').trim();
      // The sentence quotes the command line (an unknown option, a value): escaped as every nst line is.
      write(`nst: ${printable(sentence)} (run ${usage} for usage)\n`);
    },
  });
}

/** `nst`, `nst stylize`, `nst weights fetch`. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return ['nst', ...names].join(' ');
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; usage errors were already printed by commander.
      return error.exitCode === 0 ? 0 : EXIT_CODES.BAD_ARGUMENT;
    }
    // A file-system failure no command turned into a sentence (a full disk mid-run) still gets one, and its code.
    const reported = asNstError(error);
    reportError(reported, program.opts().debug === true || argv.includes('--debug'));
    return exitCodeFor(reported);
  }
}
