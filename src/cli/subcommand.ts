import { Command, CommanderError } from 'commander';
import type { Sink } from '../util/sink.js';

/** A sub-command's commander program: --help, errors thrown (not exiting), output to the command's sinks. */
export function subcommand(name: string, io: { stdout: Sink; stderr: Sink }): Command {
  return new Command(name)
    .helpOption('--help', 'show this help')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s), outputError: () => {} });
}

/**
 * Parse a sub-command that takes run options: its extra arguments, or the
 * exit code when it stops here (0 after --help; `fail`'s code for an
 * option commander refuses, with a pointer to --help).
 */
export function parseSubcommand(cmd: Command, argv: string[], fail: (msg: string) => number): string[] | number {
  let extra: string[] = [];
  cmd.action((...a: unknown[]) => {
    extra = (a[a.length - 1] as Command).args;
  });
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help') return 0;
      return fail(`${e.message.replace(/^error: /, '')} (${cmd.name()} --help lists the options)`);
    }
    throw e;
  }
  return extra;
}
