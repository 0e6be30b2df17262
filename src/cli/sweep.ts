import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { CommanderError, Option } from 'commander';
import { defaultConfig, withSeed, type RunConfig } from '../core/config.js';
import { EXIT, type RunRecord } from '../core/outcome.js';
import { runWithFiles } from '../output/filerun.js';
import { shellWord, slug } from '../output/paths.js';
import { runSeeds } from '../sweep/pool.js';
import { parseSeeds, parseShard, shardSeeds } from '../sweep/seeds.js';
import { expectationText, parseExpectation, summarize, summaryTable, unexpected } from '../sweep/summary.js';
import { UsageError, errText } from '../util/errors.js';
import { Sink } from '../util/sink.js';
import { argvOf } from '../core/argv.js';
import { isDesignName } from '../kernel/designs.js';
import { addRunOptions, parseRunOptions, recordOptions, type GivenOption } from './options.js';
import { painter, type CliIo } from './program.js';
import { parseSubcommand, subcommand } from './subcommand.js';
import { runShrinkCli } from './shrink.js';

const ndjson = (rs: RunRecord[]): string => rs.map((r) => JSON.stringify(r)).join('\n') + (rs.length ? '\n' : '');


/** The command that runs one seed of the sweep on its own, runnable as printed. */
export function reproduceCommand(config: RunConfig, seed: number, file: string, designFile?: string): string {
  return ['daxfsx', ...argvOf(withSeed(config, seed), designFile), file].map(shellWord).join(' ');
}

/** ETA in words that never say 2m60s. */
function eta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}


/** `daxfsx sweep merge [--out FILE] FILES...` */
async function merge(argv: string[], io: CliIo): Promise<number> {
  const cmd = subcommand('daxfsx sweep merge', io)
    .description("combine the --out files of a sweep's shards into one summary (a seed found twice must agree)")
    .argument('<files...>', 'the NDJSON files the shards wrote with --out')
    .addOption(new Option('--out <file>', 'write the merged NDJSON here'));
  let files: string[] = [];
  cmd.action((f: string[]) => {
    files = f;
  });
  cmd.parse(argv, { from: 'user' });
  if (!files.length) return 0; // --help
  const { out } = cmd.opts<{ out?: string }>();
  const bySeed = new Map<number, RunRecord>();
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (e) {
      throw new UsageError(`${f}: ${errText(e)}`, EXIT.FILE);
    }
    text.split('\n').forEach((line, i) => {
      if (!line.trim()) return;
      let r: RunRecord;
      try {
        r = JSON.parse(line) as RunRecord;
      } catch {
        throw new UsageError(`${f}:${i + 1}: not a JSON line`, EXIT.FILE);
      }
      if (typeof r.seed !== 'number' || typeof r.signature !== 'string') throw new UsageError(`${f}:${i + 1}: not a sweep result (needs seed and signature)`, EXIT.FILE);
      const prev = bySeed.get(r.seed);
      if (prev && JSON.stringify(prev) !== JSON.stringify(r)) throw new UsageError(`${f}:${i + 1}: seed ${r.seed} appears twice with different results`, EXIT.FILE);
      bySeed.set(r.seed, r);
    });
  }
  const results = [...bySeed.values()].sort((x, y) => x.seed - y.seed);
  if (out) writeFileSync(out, ndjson(results));
  io.stdout.write(`${results.length} seeds from ${files.length} file(s)\n${summaryTable(results).join('\n')}\n`);
  return 0;
}

/** `daxfsx sweep --seeds A..B [run options]` and `daxfsx sweep merge FILES...`. */
export async function runSweepCli(argv: string[], io: CliIo, interrupted?: () => number): Promise<number> {
  const fail = (msg: string, code: number = EXIT.USAGE): number => {
    io.stderr.write(`daxfsx sweep: ${msg}\n`);
    return code;
  };
  try {
    if (argv[0] === 'merge') return await merge(argv.slice(1), io);
    const given: GivenOption[] = [];
    const cmd = subcommand('daxfsx sweep', io)
      .usage('--seeds A..B [options] [run options]')
      .description(
        'Run every seed of A..B with the run options in worker processes (in memory, no files per seed) and print a summary by signature: seeds, first seed, median ops to the failure, and a command that reproduces each.\n\n' +
          'Exit 0 when every seed came out as --expect says, 1 when any did not (they are listed), the signal number (2, 15) when interrupted. A CI job sweeping a design known to be unsafe says which failures it expects: --expect iomap_page_mkwrite,vm_insert_mixed.\n\n' +
          'daxfsx sweep merge FILES... combines the --out files of shards.',
      )
      .addOption(new Option('--seeds <A..B>', 'the seed range (required)').helpGroup('sweep'))
      .addOption(new Option('--jobs <n>', 'worker processes').default(String(availableParallelism()), 'the number of cores').helpGroup('sweep'))
      .addOption(new Option('--out <file>', 'one JSON line per seed, in seed order (the same whatever --jobs is)').helpGroup('sweep'))
      .addOption(new Option('--shard <K/N>', "only the K-th of N slices of the range (every N-th seed); index/N takes K from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job's, from 0)").helpGroup('sweep'))
      .addOption(
        new Option('--expect <what>', "what the seeds must come out as: 'clean' (every seed), 'any', or signatures separated by commas (each seed clean or failing with one of them, e.g. iomap_page_mkwrite,vm_insert_mixed)")
          .default('clean')
          .helpGroup('sweep'),
      )
      .addOption(new Option('--save-failures <dir>', "run the first seed of each failing signature again with its files (F, .fsxops, .fsxlog, .fsxgood, .dmesg, .html report) in DIR, named SIGNATURE-seedN").helpGroup('sweep'))
      .addOption(new Option('--shrink', 'with --save-failures: shrink each saved failure to SIGNATURE-seedN.min.fsxops').helpGroup('sweep'))
      .addOption(new Option('--no-color', 'no colour on the terminal').helpGroup('sweep'))
      .allowExcessArguments(true);
    addRunOptions(cmd, false);
    recordOptions(cmd, given);
    const files = parseSubcommand(cmd, argv, (msg) => fail(msg));
    if (typeof files === 'number') return files;
    const o = cmd.opts<{ seeds?: string; jobs: string; out?: string; shard?: string; expect: string; saveFailures?: string; shrink?: boolean; color?: boolean }>();
    if (files.length) throw new UsageError(`a sweep takes no test file (got ${files.join(' ')}): its seeds run in memory; --save-failures DIR keeps the files of failing seeds`);
    if (!o.seeds) throw new UsageError('--seeds A..B is required (daxfsx sweep --help lists the options)');
    if (o.shrink && !o.saveFailures) throw new UsageError('--shrink shrinks saved failures: give --save-failures DIR too');
    const jobs = Number(o.jobs);
    if (!Number.isInteger(jobs) || jobs < 1 || jobs > 256) throw new UsageError(`option --jobs: must be a whole number from 1 to 256 (got ${o.jobs})`);
    const range = parseSeeds(o.seeds);
    const shard = o.shard ? parseShard(o.shard, io.env) : ([1, 1] as [number, number]);
    const expectation = parseExpectation(o.expect);
    const runGiven = given.filter((g) => !['seeds', 'jobs', 'out', 'shard', 'expect', 'saveFailures', 'shrink', 'color'].includes(g.attr));
    const { run } = parseRunOptions(cmd.opts(), ['(sweep)'], runGiven);
    const config = run.apply(defaultConfig());
    // a design read from a file is named by that file in the reproduce lines
    const designFile = typeof cmd.opts().kernel === 'string' && !isDesignName(cmd.opts().kernel as string) ? (cmd.opts().kernel as string) : undefined;
    if (config.fsx.keepExisting || config.fsx.lite) throw new UsageError('-k and -L need an existing file: run them with daxfsx FILE, not in a sweep');
    if (config.fsx.durationSec) throw new UsageError('--duration: a sweep runs -N ops per seed (a timed seed would not be the same seed twice)');

    const seeds = shardSeeds(range, shard);
    let bar: cliProgress.SingleBar | undefined;
    const t0 = performance.now();
    if (io.isTTY) {
      bar = new cliProgress.SingleBar({ format: 'daxfsx sweep [{bar}] {value}/{total} seeds  {left} left', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
      bar.start(seeds.length, 0, { left: '?' });
    }
    const { results, stopped } = await runSeeds(
      config,
      seeds,
      Math.min(jobs, Math.max(1, seeds.length)),
      (n) => bar?.update(n, { left: eta((((performance.now() - t0) / 1000) * (seeds.length - n)) / n) }),
      () => (interrupted?.() ?? 0) !== 0,
    );
    bar?.stop();
    const secs = (performance.now() - t0) / 1000;
    if (o.out) {
      try {
        writeFileSync(o.out, ndjson(results));
      } catch (e) {
        io.stderr.write(`daxfsx sweep: ${o.out}: ${errText(e)}\n`);
      }
    }
    const w = (s: string): void => io.stdout.write(s + '\n');
    w(`${results.length} seeds${shard[1] > 1 ? ` (shard ${shard[0]}/${shard[1]} of ${range[0]}..${range[1]})` : ` (${range[0]}..${range[1]})`}${stopped ? ', stopped by a signal' : ''}, ${jobs} job(s), ${secs.toFixed(1)} s`);
    for (const l of summaryTable(results)) w(l);
    const failing = summarize(results).filter((s) => s.signature !== 'clean');
    if (failing.length) w('To run the first seed of each on its own:');
    for (const s of failing) w(`  ${s.signature}: ${reproduceCommand(config, s.firstSeed, `./${slug(s.signature)}-seed${s.firstSeed}`, designFile)}`);
    if (stopped) return interrupted?.() || 2;

    if (o.saveFailures && failing.length) {
      try {
        mkdirSync(o.saveFailures, { recursive: true });
      } catch (e) {
        throw new UsageError(`${o.saveFailures}: ${errText(e)}`, EXIT.FILE);
      }
      w(`Saved in ${o.saveFailures}:`);
      const quiet = { stdout: Sink.memory(), stderr: Sink.memory(), isTTY: false, env: io.env };
      for (const s of failing) {
        // a signal while saving: what is saved stays, the rest is not run
        if (interrupted?.()) {
          w('  stopped by a signal: the other failures were not saved');
          break;
        }
        const base = join(o.saveFailures, `${slug(s.signature)}-seed${s.firstSeed}`);
        const res = await runWithFiles(
          { config: withSeed(config, s.firstSeed), outputs: { fname: base, report: `${base}.html`, explain: true, timeline: false, shrink: false, recordOps: true }, parseMessages: [], notes: [], seedPicked: false, command: reproduceCommand(config, s.firstSeed, base, designFile) },
          { stdout: quiet.stdout, stderr: quiet.stderr, progress: false, paint: painter(false), columns: 100 },
        );
        w(`  ${s.signature}: ${base} (.fsxops .fsxlog .fsxgood .dmesg .html), exit ${res.exitCode}`);
        if (o.shrink && res.opsPath) {
          await runShrinkCli([res.opsPath], quiet, interrupted);
          w(`    shrunk: ${base}.min.fsxops${interrupted?.() ? ' (stopped by a signal: the smallest failing run found by then)' : ''}`);
        }
      }
    }
    const bad = unexpected(results, expectation);
    if (bad.length) {
      const by = summarize(bad).map((s) => `${s.signature} (${s.count} seed(s), first ${s.firstSeed})`);
      w(`Unexpected: ${bad.length} of ${results.length} seeds (expected ${expectationText(expectation)}): ${by.join(', ')}`);
    }
    // a signal while the failures were saved (or shrunk) ends the sweep as one during its seeds does
    if (interrupted?.()) return interrupted();
    return bad.length ? 1 : 0;
  } catch (e) {
    if (e instanceof UsageError) return fail(e.message, e.exitCode);
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help') return 0;
      return fail(e.message.replace(/^error: /, ''));
    }
    throw e;
  }
}
