import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { CommanderError, Option } from 'commander';
import { VERSION, defaultConfig, type RunConfig } from '../core/config.js';
import { EXIT, headlineOf } from '../core/outcome.js';
import type { Script } from '../core/scripted.js';
import { KNOBS, designsDir, type Design, type Knobs } from '../kernel/designs.js';
import { runWithFiles } from '../output/filerun.js';
import { replayCommand, slug } from '../output/paths.js';
import { recordLines } from '../replay/recording.js';
import { programOps, scriptOpLines } from '../replay/script.js';
import { minimalTable, ndjsonLines, parseResultLine, resultsTable } from '../search/report.js';
import { markMinimal, searchDesigns, type DesignResult, type Searched } from '../search/search.js';
import { designSpace, nameLegend, parseKnobList } from '../search/space.js';
import { parseSeeds, parseShard, shardSeeds } from '../sweep/seeds.js';
import { UsageError, errText } from '../util/errors.js';
import { Sink } from '../util/sink.js';
import { addRunOptions, parseRunOptions, recordOptions, type GivenOption } from './options.js';
import { painter, type CliIo } from './program.js';
import { parseSubcommand, subcommand } from './subcommand.js';

/** The search's own options (the rest are run options, for its sweeps). */
const OWN = ['knobs', 'seeds', 'program', 'maxFlips', 'preemptions', 'maxInterleavings', 'allFailures', 'exploreAll', 'jobs', 'shard', 'out', 'ndjson', 'save'];

/** What a search sweeps with unless the command line says otherwise: short runs, with closes and inode evictions. */
export const SEARCH_DEFAULTS = { seeds: '1..20', numops: 4000, closeprob: 20, dropCaches: 2 };


/** A .fsxops file as a program to explore (its ops; a recorded config in it is not used). */
function loadProgram(file: string): Script {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${file}: ${errText(e)}`, EXIT.FILE);
  }
  const p = programOps(text, file);
  if ('error' in p) throw new UsageError(p.error, EXIT.FILE);
  const ops = p.ops;
  if (!ops.length) throw new UsageError(`${file}: no operations to explore`, EXIT.FILE);
  return { ops, flips: [] };
}


/** Write an output, or stop with one line naming it (exit 94). */
function writeOut(path: string, write: () => void): void {
  try {
    write();
  } catch (e) {
    throw new UsageError(`${path}: ${errText(e)}`, EXIT.OUTPUT);
  }
}

function designFileText(d: Design): string {
  const o: Record<string, unknown> = { name: d.name, summary: d.summary, source: d.source };
  for (const k of KNOBS) o[k.name] = d[k.name];
  return JSON.stringify(o, null, 2) + '\n';
}

/**
 * Write what makes each result checkable by hand: every design as a file,
 * and for each unsafe one a replayable run of its first failure (the
 * sweep's first failing seed with all of fsx's files, or the failing
 * interleaving the exploration found). Fills in each result's `reproduce`.
 */
async function saveReproducers(dir: string, searched: Searched[]): Promise<Map<string, string>> {
  const commands = new Map<string, string>();
  const quiet = { stdout: Sink.memory(), stderr: Sink.memory() };
  for (const s of searched) {
    const file = join(dir, 'designs', `${s.design.name}.json`);
    writeOut(file, () => writeFileSync(file, designFileText(s.design)));
    const first = s.result.first;
    if (!first) continue;
    const base = join(dir, s.design.name, `${slug(first.signature)}-${first.by === 'sweep' ? `seed${first.seed}` : 'explore'}`);
    writeOut(join(dir, s.design.name), () => mkdirSync(join(dir, s.design.name), { recursive: true }));
    if (first.by === 'sweep' && s.sweepConfig) {
      const res = await runWithFiles(
        { config: s.sweepConfig, outputs: { fname: base, report: undefined, explain: true, timeline: false, shrink: false, recordOps: true }, parseMessages: [], notes: [], seedPicked: false, command: '' },
        { stdout: quiet.stdout, stderr: quiet.stderr, progress: false, paint: painter(false), columns: 100 },
      );
      if (res.opsPath) commands.set(s.design.name, replayCommand(res.opsPath, base));
    } else {
      const script = s.exploreScripts.find((e) => e.signature === first.signature)!.script;
      const ops = `${base}.fsxops`;
      const lines = [
        ...recordLines({ origin: { kind: 'script', firstOp: 1 }, config: s.exploreConfig, schedule: script.flips }, `${VERSION}: designs search, ${s.design.name}: ${headlineOf(first.verdict, first.signature)}; replay: daxfsx --replay-ops=THIS_FILE FILE`),
        ...scriptOpLines(script.ops),
      ];
      writeOut(ops, () => writeFileSync(ops, lines.join('\n') + '\n'));
      commands.set(s.design.name, replayCommand(ops, base));
    }
  }
  return commands;
}

function printResults(results: DesignResult[], w: (s: string) => void, ndjson: boolean, shardNote: string): void {
  if (ndjson) {
    for (const r of results.filter((x) => x.minimal)) w(JSON.stringify(r));
    return;
  }
  for (const l of resultsTable(results)) w(l);
  w(`names: base, then ${nameLegend()}`);
  w('cost to users: none = the change applies at once and is never refused; refused while mapped = chattr fails with EBUSY while the file has a VMA;');
  w('  at the last close = the new mode applies when the last reference goes and the inode is evicted; no runtime change = only when the inode is next');
  w('  loaded (remount, reclaim). Costs of different kinds are not weighed against each other: a design is minimal when no safe one costs a strict part of it.');
  w('');
  w(`Minimal safe designs${shardNote} (safe within the bounds; no other safe design costs users less):`);
  for (const l of minimalTable(results)) w(l);
}

/** `daxfsx designs search merge [--out FILE] [--ndjson] FILES...` */
function merge(argv: string[], io: CliIo): number {
  const cmd = subcommand('daxfsx designs search merge', io)
    .description("combine the --out files of a search's shards: the minimal safe designs over all of them")
    .argument('<files...>', 'the NDJSON files the shards wrote with --out')
    .addOption(new Option('--out <file>', 'write the merged NDJSON here'))
    .addOption(new Option('--ndjson', 'print the minimal safe designs as NDJSON instead of the tables'));
  let files: string[] = [];
  cmd.action((f: string[]) => {
    files = f;
  });
  cmd.parse(argv, { from: 'user' });
  if (!files.length) return 0;
  const o = cmd.opts<{ out?: string; ndjson?: boolean }>();
  const byName = new Map<string, DesignResult>();
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (e) {
      throw new UsageError(`${f}: ${errText(e)}`, EXIT.FILE);
    }
    text.split('\n').forEach((line, i) => {
      if (!line.trim()) return;
      let r: DesignResult;
      try {
        r = parseResultLine(line);
      } catch (e) {
        throw new UsageError(`${f}:${i + 1}: ${(e as Error).message}`, EXIT.FILE);
      }
      const prev = byName.get(r.design);
      if (prev && JSON.stringify({ ...prev, minimal: false }) !== JSON.stringify({ ...r, minimal: false })) throw new UsageError(`${f}:${i + 1}: design ${r.design} appears twice with different results`, EXIT.FILE);
      byName.set(r.design, r);
    });
  }
  const results = [...byName.values()];
  markMinimal(results);
  if (o.out) writeFileSync(o.out, ndjsonLines(results));
  const w = (s: string): void => io.stdout.write(s + '\n');
  if (!o.ndjson) w(`${results.length} designs from ${files.length} file(s)`);
  printResults(results, w, Boolean(o.ndjson), '');
  return 0;
}

/** `daxfsx designs search [options] [run options]` */
export async function runSearchCli(argv: string[], io: CliIo, interrupted?: () => number): Promise<number> {
  const fail = (msg: string, code: number = EXIT.USAGE): number => {
    io.stderr.write(`daxfsx designs search: ${msg}\n`);
    return code;
  };
  try {
    if (argv[0] === 'merge') return merge(argv.slice(1), io);
    const given: GivenOption[] = [];
    const knobNames = KNOBS.map((k) => k.name).join(',');
    const cmd = subcommand('daxfsx designs search', io)
      .usage('[options] [run options]')
      .description(
        'Search the design space: every combination of the chosen knobs, each through a sweep that closes and evicts the inode ' +
          `(-N ${SEARCH_DEFAULTS.numops} -c ${SEARCH_DEFAULTS.closeprob} --drop-caches ${SEARCH_DEFAULTS.dropCaches} unless given), then, if the sweep found no failure (every design with --explore-all), through a bounded exploration of a small program. ` +
          'Prints every design (safe or the first failure, its seeds, its cost to users) and the minimal safe designs: those no other safe design costs users less.\n\n' +
          'Unsafe designs get a replayable reproducer and every design a design file in --save DIR. ' +
          'Exit 0 when the search ran to its end (whatever it found), the signal number when interrupted. ' +
          'daxfsx designs search merge FILES... combines the --out files of shards.',
      )
      .addOption(new Option('--knobs <list>', `the knobs to vary, separated by commas (the others keep --kernel's values)`).default(knobNames, 'all').helpGroup('search'))
      .addOption(new Option('--seeds <A..B>', "each design's sweep").default(SEARCH_DEFAULTS.seeds).helpGroup('search'))
      .addOption(new Option('--program <file>', "the .fsxops program each design is explored with").default('', 'designs/search.fsxops: write, mapped write, read, mapped read').helpGroup('search'))
      .addOption(new Option('--max-flips <n>', 'flips in each exploration').default('2').helpGroup('search'))
      .addOption(new Option('--preemptions <n>', "each exploration's preemption bound").default('2').helpGroup('search'))
      .addOption(new Option('--max-interleavings <n>', 'stop an exploration after this many interleavings (a bound that gives the same result on any machine)').default('5000').helpGroup('search'))
      .addOption(new Option('--explore-all', 'explore every design, also those the sweep has already failed').helpGroup('search'))
      .addOption(new Option('--all-failures', "explore a failing design to the bounds (every signature), not only to its first failure").helpGroup('search'))
      .addOption(new Option('--jobs <n>', 'worker processes').default(String(availableParallelism()), 'the number of cores').helpGroup('search'))
      .addOption(new Option('--shard <K/N>', 'only every N-th design from the K-th (index/N: K from JOB_COMPLETION_INDEX); merge the --out files').helpGroup('search'))
      .addOption(new Option('--out <file>', 'one JSON line per design: knobs, verdict, first failure and seeds, cost, minimal').helpGroup('search'))
      .addOption(new Option('--ndjson', 'print the minimal safe designs as NDJSON instead of the tables').helpGroup('search'))
      .addOption(new Option('--save <dir>', 'where the design files and reproducers go').default('designs-search').helpGroup('search'))
      .addOption(new Option('--no-save', 'write no design files or reproducers').helpGroup('search'))
      .allowExcessArguments(true);
    addRunOptions(cmd, false);
    recordOptions(cmd, given);
    const extra = parseSubcommand(cmd, argv, (msg) => fail(msg));
    if (typeof extra === 'number') return extra;
    if (extra.length) throw new UsageError(`a search takes no file (got ${extra.join(' ')}): its runs are in memory; --save DIR keeps the reproducers`);
    const o = cmd.opts<Record<string, unknown>>();
    const int = (name: string, v: unknown, min: number, max = 1e9): number => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`option --${name}: must be a whole number from ${min} to ${max} (got ${String(v)})`);
      return n;
    };
    let vary: (keyof Knobs)[];
    try {
      vary = parseKnobList(String(o.knobs));
    } catch (e) {
      throw new UsageError(`option --knobs: ${(e as Error).message}`);
    }
    const jobs = int('jobs', o.jobs, 1, 256);
    const range = parseSeeds(String(o.seeds));
    const shard = o.shard ? parseShard(String(o.shard), io.env) : ([1, 1] as [number, number]);
    const explore = {
      maxFlips: int('max-flips', o.maxFlips, 0, 16),
      preemptions: int('preemptions', o.preemptions, 0, 16),
      maxSteps: 200000,
      budgetMs: 24 * 3600 * 1000,
      maxInterleavings: int('max-interleavings', o.maxInterleavings, 1),
      stopAtFirstFailure: !o.allFailures,
    };
    const runGiven = given.filter((g) => !OWN.includes(g.attr));
    const { run } = parseRunOptions(o, ['(search)'], runGiven);
    const base = defaultConfig();
    const sweep: RunConfig = run.apply({
      fsx: { ...base.fsx, numops: SEARCH_DEFAULTS.numops, closeprob: SEARCH_DEFAULTS.closeprob },
      model: { ...base.model, dropCaches: SEARCH_DEFAULTS.dropCaches },
    });
    if (!sweep.model.flip) throw new UsageError('--no-flip: a design search is about the flag changing');
    if (sweep.fsx.keepExisting || sweep.fsx.lite) throw new UsageError('-k and -L need an existing file: not in a search');
    if (sweep.fsx.durationSec) throw new UsageError('--duration: a search runs -N ops per seed (a timed seed would not be the same seed twice)');
    const programFile = String(o.program) || join(designsDir(), 'search.fsxops');
    const prog = loadProgram(programFile);
    const all = designSpace(vary, sweep.model.kernel);
    const designs = all.filter((_, i) => i % shard[1] === shard[0] - 1);
    const seeds = shardSeeds(range, [1, 1]);

    // the outputs are made before the search runs: a path that cannot be written is found now, not after minutes of it
    if (o.out) writeOut(String(o.out), () => writeFileSync(String(o.out), ''));
    if (o.save !== false) writeOut(String(o.save), () => mkdirSync(join(String(o.save), 'designs'), { recursive: true }));
    const w = (s: string): void => io.stdout.write(s + '\n');
    const shardNote = shard[1] > 1 ? ` of shard ${shard[0]}/${shard[1]} (merge the shards' --out files for the whole space)` : '';
    if (!o.ndjson) {
      w(`Searching ${designs.length} design(s)${shard[1] > 1 ? ` (shard ${shard[0]}/${shard[1]} of ${all.length})` : ''} on ${sweep.model.fs}, varying ${vary.join(', ')}:`);
      w(`  sweep    seeds ${range[0]}..${range[1]}, -N ${sweep.fsx.numops}${sweep.fsx.closeprob ? ` -c ${sweep.fsx.closeprob}` : ''}${sweep.model.dropCaches ? ` --drop-caches ${sweep.model.dropCaches}` : ''}`);
      w(`  explore  ${programFile} (${prog.ops.length} ops), ${explore.maxFlips} flip(s), ${explore.preemptions} preemption(s), at most ${explore.maxInterleavings} interleavings${explore.stopAtFirstFailure ? ', to the first failure' : ''}, ${o.exploreAll ? 'every design' : 'the designs the sweep found no failure in'}`);
    }
    let bar: cliProgress.SingleBar | undefined;
    if (io.isTTY) {
      bar = new cliProgress.SingleBar({ format: 'daxfsx designs search [{bar}] {value}/{total} runs', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
      bar.start(designs.length * (seeds.length + 1), 0);
    }
    const t0 = performance.now();
    const { searched, stopped } = await searchDesigns(
      { designs, sweep, seeds, program: prog, explore, exploreAll: Boolean(o.exploreAll) },
      jobs,
      (n) => bar?.update(n),
      () => (interrupted?.() ?? 0) !== 0,
    );
    bar?.stop();
    if (o.save !== false && !stopped) {
      const commands = await saveReproducers(String(o.save), searched);
      for (const s of searched) {
        const c = commands.get(s.design.name);
        if (c) s.result.reproduce = c;
      }
    }
    const results = searched.map((s) => s.result);
    if (o.out) writeOut(String(o.out), () => writeFileSync(String(o.out), ndjsonLines(results)));
    if (!o.ndjson) {
      w(`${results.length} design(s) searched${stopped ? `, stopped by a signal (${designs.length - results.length} not finished)` : ''}, ${jobs} job(s), ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      w('');
    }
    printResults(results, w, Boolean(o.ndjson), shardNote);
    if (!o.ndjson && o.save !== false && !stopped) {
      const unsafe = searched.filter((s) => s.result.reproduce);
      w('');
      w(`Design files: ${join(String(o.save), 'designs')}/NAME.json (daxfsx sweep --kernel FILE runs one again)`);
      if (unsafe.length) w(`Reproducers of the unsafe designs' first failures (${unsafe.length}): ${unsafe[0].result.reproduce}, ... (each design's "reproduce" in --out)`);
    }
    if (stopped) return interrupted?.() || 2;
    return 0;
  } catch (e) {
    if (e instanceof UsageError) return fail(e.message, e.exitCode);
    // merge's own parse (its options and --help)
    if (e instanceof CommanderError) return e.code === 'commander.helpDisplayed' || e.code === 'commander.help' ? 0 : fail(e.message.replace(/^error: /, ''));
    throw e;
  }
}
