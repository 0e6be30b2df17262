import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { Command, CommanderError, Option } from 'commander';
import { VERSION, defaultConfig, type RunConfig } from '../core/config.js';
import { EXIT, headlineOf } from '../core/outcome.js';
import type { Script } from '../core/scripted.js';
import { exploreRuns, programRunner, type Runner } from '../explore/explore.js';
import { programFromSeed } from '../explore/program.js';
import { replayCommand, slug } from '../output/paths.js';
import { RecordError, readRecord, recordLines } from '../replay/recording.js';
import { programOps, scriptOpLines } from '../replay/script.js';
import { UsageError, errText } from '../util/errors.js';
import type { Sink } from '../util/sink.js';
import { addRunOptions, parseRunOptions, recordOptions, type GivenOption } from './options.js';

/** explore's own options (the rest are run options). */
/** Interleavings `daxfsx explore` runs at most unless told (about two minutes here on the immediate 4-op program): a count, not a time, so the same command finds the same failures on any machine. */
const MAX_INTERLEAVINGS = 50_000;

const EXPLORE_OWN = new Set(['ops', 'maxFlips', 'preemptions', 'maxSteps', 'maxInterleavings', 'budget', 'outDir', 'summary', 'reduction', 'stateHashing']);

interface Io {
  stdout: Sink;
  stderr: Sink;
  /** stderr is a terminal: a progress bar is drawn there. */
  isTTY?: boolean;
}

/** `daxfsx explore`: every interleaving of a small program and the flipper, within bounds. */
export async function runExploreCli(argv: string[], io: Io, interrupted?: () => number): Promise<number> {
  const given: GivenOption[] = [];
  const cmd = new Command('daxfsx explore')
    .description(
      'run a small program (a .fsxops file, or --ops N from the seed) under every interleaving with the flipper,\n' +
        'up to the bounds, pruning states already explored; report failures by signature, each with a replayable run',
    )
    .argument('[program]', 'a .fsxops file (its recorded options are used); without it, --ops N from the seed')
    .addOption(new Option('--ops <n>', 'generate the program: the first N ops of the seed\'s stream').default('1'))
    .addOption(new Option('--max-flips <n>', 'flips the flipper may make').default('1'))
    .addOption(new Option('--preemptions <n>', 'preemption bound').default('2'))
    .addOption(new Option('--max-steps <n>', 'steps per interleaving before it is cut off').default('200000'))
    .addOption(new Option('--max-interleavings <n>', 'stop after this many interleavings (the same result on any machine)').default(String(MAX_INTERLEAVINGS)))
    .addOption(new Option('--budget <seconds>', 'stop after this long as well (none by default: an exploration it cuts short depends on the machine\'s speed)'))
    .addOption(new Option('--out-dir <dir>', 'where the failing runs go').default('.'))
    .addOption(new Option('--no-reduction', 'no partial-order reduction: every branch the bounds and the state hashing allow (for comparison)'))
    .addOption(new Option('--no-state-hashing', 'explore a state again each time it is reached (to check what the state hash prunes)'))
    .addOption(new Option('--summary <file>', 'JSON: interleavings, states, exhausted, failures by signature, seconds, reduction, pruned by each means'))
    .helpOption('--help', 'show this help')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s), outputError: () => {} });
  addRunOptions(cmd, false);
  recordOptions(cmd, given);
  let program: string | undefined;
  cmd.action((p?: string) => {
    program = p;
  });
  const fail = (msg: string, code = 90): number => {
    io.stderr.write(`daxfsx explore: ${msg}\n`);
    return code;
  };
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help') return 0;
      return fail(e.message.replace(/^error: /, ''));
    }
    throw e;
  }
  const opts = cmd.opts<Record<string, unknown>>();
  const int = (name: string, v: unknown, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`option --${name}: must be a whole number >= ${min} (got ${String(v)})`);
    return n;
  };
  let config: RunConfig;
  let prog: Script;
  try {
    const bounds = {
      maxFlips: int('max-flips', opts.maxFlips, 0),
      preemptions: int('preemptions', opts.preemptions, 0),
      maxSteps: int('max-steps', opts.maxSteps, 1),
      maxInterleavings: int('max-interleavings', opts.maxInterleavings, 1),
      budgetMs: opts.budget === undefined ? Infinity : int('budget', opts.budget, 1) * 1000,
      reduction: opts.reduction !== false,
      stateHashing: opts.stateHashing !== false,
    };
    const { run: p } = parseRunOptions(opts, ['explore'], given.filter((g) => !EXPLORE_OWN.has(g.attr)));
    let base = defaultConfig();
    let text = '';
    if (program) {
      try {
        text = readFileSync(program, 'utf8');
      } catch (e) {
        return fail(`${program}: ${errText(e)}`, EXIT.FILE);
      }
      try {
        base = readRecord(text, program)?.config ?? base;
      } catch (e) {
        if (e instanceof RecordError) return fail(e.message, EXIT.REPLAY);
        throw e;
      }
    }
    // the program's recorded config, with the command line's options over it
    const applied = p.apply(base);
    config = { fsx: applied.fsx, model: { ...applied.model, flip: true } };
    if (program) {
      const parsed = programOps(text, program);
      if ('error' in parsed) return fail(parsed.error, EXIT.REPLAY);
      prog = { ops: parsed.ops, flips: [] };
    } else {
      prog = programFromSeed(config, int('ops', opts.ops, 1));
    }
    // the directory for failing runs is made before exploring (not found missing after minutes of it)
    try {
      mkdirSync(String(opts.outDir), { recursive: true });
    } catch (e) {
      return fail(`${String(opts.outDir)}: ${errText(e)}`, EXIT.FILE);
    }
    // on a terminal, a bar of the interleavings run against the most it may run, with the time and the failures found so far
    let bar: cliProgress.SingleBar | undefined;
    const { runner, why } = programRunner(config, prog, bounds);
    let shown: Runner = runner;
    if (io.isTTY) {
      bar = new cliProgress.SingleBar({ format: 'daxfsx explore [{bar}] {value}/{total} interleavings, {secs} s, {failures} failure signature(s)', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
      bar.start(bounds.maxInterleavings, 0, { secs: 0, failures: 0 });
      const t0 = performance.now();
      const found = new Set<string>();
      let runs = 0;
      shown = (prefix, record, ctl) => {
        const r = runner(prefix, record, ctl);
        runs++;
        if (r.signature) found.add(r.signature);
        bar!.update(runs, { secs: Math.floor((performance.now() - t0) / 1000), failures: found.size });
        return r;
      };
    }
    const res = await exploreRuns(shown, { ...bounds, stop: () => (interrupted?.() ?? 0) !== 0 }, why);
    bar?.stop();
    const w = (s: string): void => io.stdout.write(s + '\n');
    w(`Explored ${prog.ops.length} op(s) with up to ${bounds.maxFlips} flip(s), ${bounds.preemptions} preemption(s) (${config.model.fs}, kernel ${config.model.kernel.name}):`);
    const stoppedEarly = res.interleavings - res.complete;
    w(`  interleavings  ${res.interleavings}${stoppedEarly ? ` (${res.complete} ran to the end, ${stoppedEarly} stopped where runs before cover the rest)` : ''}`);
    w(`  distinct states ${res.states}`);
    // what cut it short, when something did
    const cut = res.exhausted || res.stopped ? null : res.interleavings >= bounds.maxInterleavings ? 'interleavings' : 'time';
    w(`  exhausted      ${res.exhausted ? 'yes: every interleaving within the bounds was run' : res.stopped ? 'no: stopped by a signal' : cut === 'interleavings' ? `no: --max-interleavings (${bounds.maxInterleavings}) reached` : `no: the --budget (${String(opts.budget)} s) ran out`}`);
    const pr = res.pruned;
    const eager = res.reduction.eagerLocks?.length ? ` (lazy locks, but every order of ${res.reduction.eagerLocks.join(', ')}: a deadlock may lie there)` : res.reduction.on ? ' (lazy locks)' : '';
    const how = res.reduction.on ? `partial-order reduction${eager}` : res.reduction.why ? `no reduction (${res.reduction.why})` : 'no reduction (--no-reduction)';
    w(`  reduction      ${how}${res.stateHashing ? '' : '; no state hashing (--no-state-hashing)'}`);
    w(`  pruned         ${pr.reduction} by the reduction's races, ${pr.sleepSet} by sleep sets, ${pr.stateHash} by state hashing, ${pr.preemptionBound} by the preemption bound`);
    w(`  time           ${res.seconds.toFixed(2)} s`);
    const failures: Record<string, number> = {};
    if (!res.failures.size) w('  failures       none');
    for (const [sig, f] of res.failures) {
      failures[sig] = f.count;
      const out = join(String(opts.outDir), `explore-${slug(sig)}.fsxops`);
      const lines = [
        ...recordLines({ origin: { kind: 'script', firstOp: 1 }, config, schedule: f.script.flips }, `${VERSION}: explore found ${headlineOf(f.verdict, sig)}; replay: daxfsx --replay-ops=THIS_FILE FILE`),
        ...scriptOpLines(f.script.ops),
      ];
      try {
        writeFileSync(out, lines.join('\n') + '\n');
      } catch (e) {
        return fail(`${out}: ${(e as Error).message}`, 93);
      }
      w(`  failure        ${headlineOf(f.verdict, sig)} (exit ${f.exitCode}): ${f.count} interleaving(s); one of them: ${replayCommand(out, out.replace(/\.fsxops$/, ''))}`);
    }
    if (opts.summary) {
      const s = {
        interleavings: res.interleavings,
        complete: res.complete,
        states: res.states,
        exhausted: res.exhausted,
        ...(res.stopped ? { stopped: true } : {}),
        ...(cut ? { cut } : {}),
        failures,
        seconds: Number(res.seconds.toFixed(3)),
        reduction: res.reduction.on,
        ...(res.reduction.eagerLocks?.length ? { eagerLocks: res.reduction.eagerLocks } : {}),
        stateHashing: res.stateHashing,
        pruned: res.pruned,
      };
      writeFileSync(String(opts.summary), JSON.stringify(s, null, 2) + '\n');
    }
    if (res.stopped) return interrupted?.() || 2;
    return res.failures.size ? 1 : 0;
  } catch (e) {
    if (e instanceof UsageError) return fail(e.message, e.exitCode);
    throw e;
  }
}
