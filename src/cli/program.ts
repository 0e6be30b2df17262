import { Chalk } from 'chalk';
import { Command, CommanderError } from 'commander';
import { VERSION, defaultConfig, type RunConfig } from '../core/config.js';
import type { Paint } from '../report/timeline.js';
import { UsageError } from '../util/errors.js';
import { Sink } from '../util/sink.js';
import { addRunOptions, parseRunOptions, recordOptions, type GivenOption, type ParsedRun } from './options.js';

export interface CliIo {
  stdout: Sink;
  stderr: Sink;
  isTTY: boolean;
  env: NodeJS.ProcessEnv;
}

export function painter(enabled: boolean): Paint {
  const c = new Chalk({ level: enabled ? 1 : 0 });
  const styles: Record<Parameters<Paint>[0], (s: string) => string> = {
    bad: (s) => c.red.bold(s),
    good: (s) => c.green(s),
    warn: (s) => c.yellow(s),
    dim: (s) => c.dim(s),
    head: (s) => c.bold(s),
    flip: (s) => c.magenta.bold(s),
    lock: (s) => c.cyan(s),
  };
  return (kind, s) => styles[kind](s);
}

/** getopt's optional arguments need '=': a bare --record-ops takes no value. */
export function normalizeArgv(argv: string[]): string[] {
  return argv.map((a) => (a === '--record-ops' ? '--record-ops=' : a));
}

/** The run command's commander program, writing to io; `given` collects the options given, in order, with their values. */
export function makeRunProgram(io: Pick<CliIo, 'stdout' | 'stderr'>, given: GivenOption[]): Command {
  const program = new Command('daxfsx');
  program
    .description(
      'fsx-style stress test of a file whose DAX mode is switched while it is read, written and mmapped, run against a model of the Linux kernel (XFS or ext4) under a deterministic scheduler.\n\n' +
        'Other commands (each with --help):\n' +
        '  daxfsx shrink F.fsxops       cut a failing run down to a minimal reproducer\n' +
        '  daxfsx explore [PROGRAM]     every interleaving of a small program, in bounds\n' +
        '  daxfsx sweep --seeds A..B    many seeds in worker processes\n' +
        '  daxfsx designs list|show|knobs  the designs --kernel takes, and a design file\'s knobs\n' +
        '  daxfsx scenario run          the shipped scenarios, with expected verdicts\n' +
        '  daxfsx matrix                designs x file systems, what each reaches\n' +
        '  daxfsx xfstest F.fsxops      the finding as an xfstests test for a real kernel',
    )
    .usage('[options] FILE')
    .helpOption('--help', 'show this help')
    .version(VERSION, '--version', 'print the version')
    .argument('[file...]', 'the test file: it receives the final contents; F.fsxlog, F.fsxops, F.fsxgood, F.dmesg go beside it')
    .allowExcessArguments(true)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: () => {},
    });
  addRunOptions(program);
  program.addHelpText(
    'after',
    `
Exit codes: 0 ok; fsx's own (90 usage, 100 replay parse error, 110 READ BAD
DATA, 120 size error, 141/151 short read/write, 160/161 truncate/fallocate
failed, 205 non-zero data past EOF); 50 kernel oops or BUG, 51 hung task, 52
WARNING with --panic-on-warn; 91-93 a file daxfsx cannot create or read; 94 an
output could not be written; 100 also a recording that is damaged or
contradicted; 2, 15 a signal; 13 a closed pipe.

Examples:
  daxfsx ./demo                       the seed's run: fsx and a chattr loop
  daxfsx -S 7 -N 20000 --kernel locked ./f
  daxfsx --no-flip -S 1 -N 1000 --record-ops ./f
  daxfsx --replay-ops=f.fsxops ./f2    replay a recorded run exactly
  daxfsx shrink f.fsxops              the smallest run that fails the same way`,
  );
  recordOptions(program, given);
  return program;
}

/** Parse a run's command line (argv without the program name). Throws UsageError; help and version answer through io and return null. */
export function parseRunArgv(
  argv: string[],
  io: Pick<CliIo, 'stdout' | 'stderr'> = { stdout: Sink.memory(), stderr: Sink.memory() },
  /** For commands whose runs are in memory (sweep, scenarios): the name of the command, which takes no test file. */
  fileless?: string,
): { run: ParsedRun; fname: string } | null {
  const given: GivenOption[] = [];
  const program = makeRunProgram(io, given);
  let files: string[] = [];
  program.action((f: string[]) => {
    files = f;
  });
  try {
    program.parse(normalizeArgv(argv), { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return null;
      throw new UsageError(e.message.replace(/^error: /, ''));
    }
    throw e;
  }
  if (fileless && files.length) throw new UsageError(`${fileless} takes no test file (got ${files.join(' ')}): its runs are in memory`);
  return parseRunOptions(program.opts(), fileless ? [fileless] : files, given);
}

/** A config from run options alone (a scenario's args, a sweep's options): the defaults with the options applied. */
export function configFromArgv(argv: string[]): RunConfig {
  const p = parseRunArgv(argv, undefined, 'a scenario');
  if (!p) throw new UsageError('--help and --version are not run options here');
  return p.run.apply(defaultConfig());
}
