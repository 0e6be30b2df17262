import { readFileSync } from 'node:fs';
import { defaultConfig } from '../core/config.js';
import { EXIT, isFailure } from '../core/outcome.js';
import { runWithFiles } from '../output/filerun.js';
import { planReplay, type ReplayPlan } from '../replay/plan.js';
import { RecordError } from '../replay/recording.js';
import { OutputError, UsageError, errText } from '../util/errors.js';
import { Sink } from '../util/sink.js';
import { runDesignsCli } from './designs.js';
import { runSearchCli } from './search.js';
import { runExploreCli } from './explore.js';
import { painter, parseRunArgv, type CliIo } from './program.js';
import { runMatrixCli, runScenarioCli } from './scenario.js';
import { runShrinkCli } from './shrink.js';
import { runSweepCli } from './sweep.js';
import { runXfstestCli } from './xfstest.js';

export type { CliIo };

const COMMANDS = ['shrink', 'explore', 'sweep', 'scenario', 'matrix', 'xfstest', 'designs'];

/** Colour on the terminal: --no-color and NO_COLOR turn it off, FORCE_COLOR (chalk's convention) on even off a terminal. */
export function useColor(flag: boolean, io: Pick<CliIo, 'isTTY' | 'env'>): boolean {
  if (!flag) return false;
  const force = io.env.FORCE_COLOR;
  if (force !== undefined && force !== '') return force !== '0' && force !== 'false';
  return io.isTTY && !io.env.NO_COLOR;
}

/** Run the CLI; returns the exit code. */
export async function runCli(argv: string[], io: CliIo, signals?: { interrupted: () => number }): Promise<number> {
  if (argv[0] === 'help') {
    // `daxfsx help` and `daxfsx help COMMAND`: never a test on a file named help
    if (argv[1] && !COMMANDS.includes(argv[1])) {
      io.stderr.write(`daxfsx help: no command '${argv[1]}' (commands: ${COMMANDS.join(', ')})\n`);
      return EXIT.USAGE;
    }
    return runCli(argv[1] ? [argv[1], ...(argv[1] === 'scenario' ? ['run'] : []), '--help'] : ['--help'], io, signals);
  }
  if (argv[0] === 'shrink') return runShrinkCli(argv.slice(1), io, signals?.interrupted);
  if (argv[0] === 'explore') return runExploreCli(argv.slice(1), io, signals?.interrupted);
  if (argv[0] === 'sweep') return runSweepCli(argv.slice(1), io, signals?.interrupted);
  if (argv[0] === 'scenario') return runScenarioCli(argv.slice(1), io, signals?.interrupted);
  if (argv[0] === 'matrix') return runMatrixCli(argv.slice(1), io, signals?.interrupted);
  if (argv[0] === 'xfstest') return runXfstestCli(argv.slice(1), io);
  if (argv[0] === 'designs' && argv[1] === 'search') return runSearchCli(argv.slice(2), io, signals?.interrupted);
  if (argv[0] === 'designs') return runDesignsCli(argv.slice(1), io);
  try {
    const parsed = parseRunArgv(argv, io);
    if (!parsed) return 0;
    const { run: p } = parsed;
    const commandLine = p.apply(defaultConfig());
    let replay: ReplayPlan | undefined;
    if (p.replayOps) {
      let text: string;
      try {
        text = readFileSync(p.replayOps, 'utf8');
      } catch (e) {
        throw new OutputError(`${p.replayOps}: ${errText(e)}`, EXIT.FILE);
      }
      replay = planReplay(p.replayOps, text, p.apply, commandLine);
      if (replay.note) io.stderr.write(`daxfsx: ${replay.note}\n`);
    }
    const config = replay?.config ?? commandLine;
    const color = useColor(p.color, io);
    const result = await runWithFiles(
      {
        config,
        outputs: p.outputs,
        parseMessages: p.parseMessages,
        notes: p.notes,
        seedPicked: p.seedPicked,
        command: `daxfsx ${argv.join(' ')}`,
        replay: replay && p.replayOps ? { file: p.replayOps, ops: replay.ops, flippers: replay.flippers, origin: replay.origin } : undefined,
      },
      {
        stdout: io.stdout,
        stderr: io.stderr,
        progress: io.isTTY && !config.fsx.quiet,
        paint: painter(color),
        columns: process.stderr.columns || 100,
        interrupted: signals?.interrupted,
      },
    );
    if (p.outputs.shrink && isFailure(result.outcome) && result.opsPath) {
      io.stderr.write(`daxfsx: shrinking ${result.opsPath}\n`);
      await runShrinkCli([result.opsPath], io, signals?.interrupted);
      // a signal during the shrink: it wrote what it had, and the exit says it was stopped, as a stopped run's does
      const sig = signals?.interrupted() ?? 0;
      if (sig) return sig;
    }
    return result.exitCode;
  } catch (e) {
    if (e instanceof RecordError) {
      io.stderr.write(`daxfsx: ${e.message}\n`);
      return EXIT.REPLAY;
    }
    if (e instanceof UsageError || e instanceof OutputError) {
      // what fsx would have printed while parsing, before it stopped
      if (e instanceof UsageError) for (const l of e.before) (l.stream === 'stdout' ? io.stdout : io.stderr).write(l.text + '\n');
      if (e.message) io.stderr.write(`daxfsx: ${e.message}\n`);
      if (e instanceof UsageError && /^unknown option/.test(e.message)) io.stderr.write(`Try 'daxfsx --help' for the options.\n`);
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
  // npx does not pass SIGINT/SIGTERM on to the command it started: when the npx that started this
  // process is killed, this one is left to init. Notice that, and stop as SIGTERM stops a run.
  const launcher = process.ppid;
  const orphaned = process.env.npm_command === 'exec'
    ? setInterval(() => {
        if (process.ppid !== launcher && !signal) {
          stderr.write('daxfsx: the npx that started daxfsx is gone: stopping as on SIGTERM\n');
          signal = 15;
        }
      }, 200)
    : undefined;
  orphaned?.unref();
  let code: number;
  try {
    code = await runCli(argv, { stdout, stderr, isTTY: Boolean(process.stderr.isTTY), env: process.env }, { interrupted: () => signal });
  } catch (e) {
    stderr.write(`daxfsx: internal error: ${(e as Error).stack ?? e}\n`);
    code = 70;
  }
  if (orphaned) clearInterval(orphaned);
  stdout.close();
  stderr.close();
  process.exitCode = code;
}
