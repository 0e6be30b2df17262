import { Chalk } from 'chalk';
import { Command, CommanderError } from 'commander';
import { OutputError, VERSION, runFsx } from '../run.js';
import { Sink } from '../util/sink.js';
import type { Paint } from '../report/timeline.js';
import { UsageError, addRunOptions, buildRunArgs, recordOptionUses } from './fsxargs.js';
import type { OptionUse } from '../fsx/parsemessages.js';
import { recordingOf, replayFileOf } from '../replay/recording.js';
import type { RunArgs } from './fsxargs.js';
import { runShrinkCli } from './shrink.js';
import { runExploreCli } from './explore.js';
import { runSweepCli } from './sweep.js';
import { runMatrixCli, runScenarioCli } from './scenario.js';
import { runXfstestCli } from './xfstest.js';

export interface CliIo {
  stdout: Sink;
  stderr: Sink;
  isTTY: boolean;
  env: NodeJS.ProcessEnv;
}

function painter(enabled: boolean): Paint {
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
function normalizeArgv(argv: string[]): string[] {
  return argv.map((a) => (a === '--record-ops' ? '--record-ops=' : a));
}

/** The run command's commander program, writing to io; `order` collects options in the order given. */
function makeRunProgram(io: Pick<CliIo, 'stdout' | 'stderr'>, order: OptionUse[]): Command {
  const program = new Command('daxfsx');
  program
    .description(
      'fsx-style stress test of a file whose DAX mode is switched while it is read, written and mmapped,\n' +
        'run against a model of the Linux kernel (XFS or ext4) under a deterministic scheduler.\n' +
        'Other commands: daxfsx shrink F.fsxops (cut a failing run down to a minimal reproducer),\n' +
        '                daxfsx explore [PROGRAM] (every interleaving of a small program, within bounds),\n' +
        '                daxfsx sweep --seeds A..B (many seeds in worker threads), daxfsx scenario run, daxfsx matrix,\n' +
        '                daxfsx xfstest F.fsxops (the finding as an xfstests test for a real kernel).',
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
Exit codes: 0 ok; fsx's own (90 usage, 100 replay parse error, 110 READ BAD DATA,
120 size error, 141/151 short read/write, 160/161 truncate/fallocate failed,
205 non-zero data past EOF); 50 kernel oops or BUG, 51 hung task, 52 WARNING
with --panic-on-warn; 91-93 a file daxfsx cannot create or read.

Examples:
  daxfsx ./demo                       the seed's run: fsx next to a chattr +x/-x loop
  daxfsx -S 7 -N 20000 --kernel locked ./f
  daxfsx --no-flip -S 1 -N 1000 --record-ops ./f
  daxfsx --replay-ops=f.fsxops ./f     replay a recorded run exactly
  daxfsx shrink f.fsxops              the smallest run that fails the same way`,
  );
  recordOptionUses(program, order);
  return program;
}

/** Parse run options alone (a script's recorded options); throws UsageError. */
export function parseRunArgv(argv: string[], fname: string): RunArgs {
  const order: OptionUse[] = [];
  const sink = Sink.memory();
  const program = makeRunProgram({ stdout: sink, stderr: sink }, order);
  let files: string[] = [];
  program.action((f: string[]) => {
    files = f;
  });
  try {
    program.parse([...normalizeArgv(argv), fname], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) throw new UsageError(e.message.replace(/^error: /, ''));
    throw e;
  }
  return buildRunArgs(program.opts(), files, order, [...argv, fname]);
}

/** Run the CLI; returns the exit code. */
export async function runCli(argv: string[], io: CliIo, signals?: { interrupted: () => number }): Promise<number> {
  if (argv[0] === 'shrink') return runShrinkCli(argv.slice(1), io);
  if (argv[0] === 'explore') return runExploreCli(argv.slice(1), io);
  if (argv[0] === 'sweep') return runSweepCli(argv.slice(1), io, signals?.interrupted);
  if (argv[0] === 'scenario') return runScenarioCli(argv.slice(1), io);
  if (argv[0] === 'matrix') return runMatrixCli(argv.slice(1), io);
  if (argv[0] === 'xfstest') return runXfstestCli(argv.slice(1), io);
  // a recording made by daxfsx carries the options of its run: they come first, the user's own after
  const replayFile = replayFileOf(argv);
  const recording = replayFile ? recordingOf(replayFile) : null;
  const exact = recording?.origin ?? undefined;
  if (recording) argv = [...recording.args, ...argv];
  const args = normalizeArgv(argv);
  const order: OptionUse[] = [];
  const program = makeRunProgram(io, order);
  let fileArgs: string[] = [];
  program.action((files: string[]) => {
    fileArgs = files;
  });
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      io.stderr.write(`daxfsx: ${e.message.replace(/^error: /, '')}\n`);
      io.stderr.write(`Try 'daxfsx --help' for the options.\n`);
      return 90;
    }
    if (e instanceof UsageError) {
      io.stderr.write(`daxfsx: ${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
  try {
    const runArgs = buildRunArgs(program.opts(), fileArgs, order, argv);
    runArgs.exact = exact;
    const color = runArgs.color && io.isTTY && !io.env.NO_COLOR;
    const outcome = await runFsx(runArgs, {
      stdout: io.stdout,
      stderr: io.stderr,
      progress: io.isTTY && !runArgs.fsx.quiet,
      paint: painter(color),
      columns: process.stderr.columns || 100,
      interrupted: signals?.interrupted,
    });
    if (runArgs.shrink && outcome.exitCode !== 0 && outcome.verdict !== 'interrupted' && outcome.opsPath) {
      io.stderr.write(`daxfsx: shrinking ${outcome.opsPath}\n`);
      await runShrinkCli([outcome.opsPath], io);
    }
    return outcome.exitCode;
  } catch (e) {
    if (e instanceof UsageError || e instanceof OutputError) {
      if (e instanceof UsageError) for (const l of e.before) (l.stream === 'stdout' ? io.stdout : io.stderr).write(l.text + '\n');
      if (e.message) io.stderr.write(`daxfsx: ${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
}

/** The executable's entry point. */
export async function main(argv: string[]): Promise<void> {
  const stdout = Sink.toFd(1, 'standard output');
  const stderr = Sink.toFd(2, 'standard error');
  let signal = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (signal) process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
    signal = sig === 'SIGINT' ? 2 : 15;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let code: number;
  try {
    code = await runCli(argv, { stdout, stderr, isTTY: Boolean(process.stderr.isTTY), env: process.env }, { interrupted: () => signal });
  } catch (e) {
    stderr.write(`daxfsx: internal error: ${(e as Error).stack ?? e}\n`);
    code = 70;
  }
  stdout.close();
  stderr.close();
  process.exitCode = code;
}
