import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import cliProgress from 'cli-progress';
import { defaultConfig } from '../core/config.js';
import type { RunRecord } from '../core/outcome.js';
import { runSeeds } from '../sweep/pool.js';
import { UsageError } from '../util/errors.js';
import type { Sink } from '../util/sink.js';
import { parseRunArgv } from './program.js';

type SeedResult = RunRecord;

interface Io {
  stdout: Sink;
  stderr: Sink;
  isTTY: boolean;
  env: NodeJS.ProcessEnv;
}

/** A..B, or a single seed. */
export function parseSeeds(s: string): [number, number] {
  const m = /^(\d+)(?:\.\.(\d+))?$/.exec(s.trim());
  if (!m) throw new UsageError(`option --seeds: expected A..B (e.g. 1..100), got '${s}'`);
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  if (a < 1 || b < a || b > 2147483647) throw new UsageError(`option --seeds: need 1 <= A <= B <= 2147483647, got '${s}'`);
  return [a, b];
}

/** --shard K/N (K from 1), or index/N to take K from a Kubernetes Indexed Job's JOB_COMPLETION_INDEX (from 0). */
export function parseShard(s: string, env: NodeJS.ProcessEnv): [number, number] {
  const m = /^(\d+|index)\/(\d+)$/.exec(s.trim());
  if (!m) throw new UsageError(`option --shard: expected K/N (e.g. 2/8) or index/N, got '${s}'`);
  const n = Number(m[2]);
  let k: number;
  if (m[1] === 'index') {
    const idx = env.JOB_COMPLETION_INDEX;
    if (idx === undefined || !/^\d+$/.test(idx)) throw new UsageError('option --shard index/N: JOB_COMPLETION_INDEX is not set to a number');
    k = Number(idx) + 1;
  } else k = Number(m[1]);
  if (n < 1 || k < 1 || k > n) throw new UsageError(`option --shard: need 1 <= K <= N, got '${s}'`);
  return [k, n];
}

/** The seeds of shard K of N: every N-th seed of the range, so slices take about as long. */
export function shardSeeds([a, b]: [number, number], [k, n]: [number, number]): number[] {
  const out: number[] = [];
  for (let s = a; s <= b; s++) if ((s - a) % n === k - 1) out.push(s);
  return out;
}

export interface SigSummary {
  signature: string;
  count: number;
  firstSeed: number;
  medianOps: number;
}

/** By signature: how many seeds, the first, the median ops to the failure. */
export function summarize(results: SeedResult[]): SigSummary[] {
  const by = new Map<string, SeedResult[]>();
  for (const r of results) {
    const k = r.signature || 'clean';
    if (!by.has(k)) by.set(k, []);
    by.get(k)!.push(r);
  }
  return [...by.entries()]
    .map(([signature, rs]) => {
      const ops = rs.map((r) => r.ops).sort((x, y) => x - y);
      return { signature, count: rs.length, firstSeed: Math.min(...rs.map((r) => r.seed)), medianOps: ops[Math.floor((ops.length - 1) / 2)] };
    })
    .sort((x, y) => y.count - x.count || x.firstSeed - y.firstSeed);
}

export function summaryTable(results: SeedResult[]): string[] {
  const rows = summarize(results);
  const w = Math.max(9, ...rows.map((r) => r.signature.length));
  return [
    `${'signature'.padEnd(w)}  seeds  first seed  median ops`,
    ...rows.map((r) => `${r.signature.padEnd(w)}  ${String(r.count).padStart(5)}  ${String(r.firstSeed).padStart(10)}  ${String(r.medianOps).padStart(10)}`),
  ];
}

const ndjson = (rs: SeedResult[]): string => rs.map((r) => JSON.stringify(r)).join('\n') + (rs.length ? '\n' : '');

/** `daxfsx sweep --seeds A..B [run options]` and `daxfsx sweep merge FILES...`. */
export async function runSweepCli(argv: string[], io: Io, interrupted?: () => number): Promise<number> {
  const fail = (msg: string, code = 90): number => {
    io.stderr.write(`daxfsx sweep: ${msg}\n`);
    return code;
  };
  if (argv[0] === '--help' || argv.length === 0) {
    io.stdout.write(
      [
        'Usage: daxfsx sweep --seeds A..B [--jobs N] [--out FILE] [--shard K/N] [run options]',
        '       daxfsx sweep merge [--out FILE] FILES...',
        '',
        'Runs every seed of A..B (with the run options, e.g. -N 20000 --kernel locked) in worker threads',
        'and prints a summary by signature: seeds, first seed, median ops to the failure.',
        '  --seeds A..B    the seed range',
        '  --jobs N        worker threads (default: the number of cores)',
        '  --out FILE      one JSON line per seed, in seed order (the same whatever --jobs is)',
        '  --shard K/N     only the K-th of N slices of the range (every N-th seed); index/N takes K from',
        "                  JOB_COMPLETION_INDEX (a Kubernetes Indexed Job's index, from 0)",
        '  merge FILES...  combine the --out files of the shards into one summary',
        '',
      ].join('\n'),
    );
    return 0;
  }
  try {
    if (argv[0] === 'merge') {
      const rest = argv.slice(1);
      let out: string | undefined;
      const files: string[] = [];
      for (let i = 0; i < rest.length; i++) {
        if (rest[i] === '--out') out = rest[++i];
        else if (rest[i].startsWith('--out=')) out = rest[i].slice(6);
        else files.push(rest[i]);
      }
      if (!files.length) return fail('merge: name the result files to merge');
      const bySeed = new Map<number, SeedResult>();
      for (const f of files) {
        let text: string;
        try {
          text = readFileSync(f, 'utf8');
        } catch {
          return fail(`${f}: cannot be read`, 93);
        }
        text.split('\n').forEach((line, i) => {
          if (!line.trim()) return;
          let r: SeedResult;
          try {
            r = JSON.parse(line) as SeedResult;
          } catch {
            throw new UsageError(`${f}:${i + 1}: not a JSON line`);
          }
          if (typeof r.seed !== 'number' || typeof r.signature !== 'string') throw new UsageError(`${f}:${i + 1}: not a sweep result (needs seed and signature)`);
          const prev = bySeed.get(r.seed);
          if (prev && JSON.stringify(prev) !== JSON.stringify(r)) throw new UsageError(`${f}:${i + 1}: seed ${r.seed} appears twice with different results`);
          bySeed.set(r.seed, r);
        });
      }
      const results = [...bySeed.values()].sort((x, y) => x.seed - y.seed);
      if (out) writeFileSync(out, ndjson(results));
      io.stdout.write(`${results.length} seeds from ${files.length} file(s)\n${summaryTable(results).join('\n')}\n`);
      return 0;
    }
    // the sweep's own options; everything else is a run option
    let seedsArg: string | undefined;
    let jobs = availableParallelism();
    let out: string | undefined;
    let shard: [number, number] = [1, 1];
    const runArgv: string[] = [];
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      const [name, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
      const val = (): string => {
        const v = inline ?? argv[++i];
        if (v === undefined) throw new UsageError(`option ${name}: needs a value`);
        return v;
      };
      if (name === '--seeds') seedsArg = val();
      else if (name === '--jobs') {
        const v = val();
        jobs = Number(v);
        if (!Number.isInteger(jobs) || jobs < 1 || jobs > 256) throw new UsageError(`option --jobs: must be a whole number from 1 to 256 (got ${v})`);
      } else if (name === '--out') out = val();
      else if (name === '--shard') shard = parseShard(val(), io.env);
      else runArgv.push(a);
    }
    if (!seedsArg) return fail('--seeds A..B is required');
    const range = parseSeeds(seedsArg);
    const parsed = parseRunArgv(runArgv, undefined, 'a sweep'); // bad run options fail here, once, with one line
    if (!parsed) return 0;
    const out1 = parsed.run.outputs;
    const perRun = [out1.report && '--report', out1.logJson && '--log-json', out1.summary && '--summary', out1.shrink && '--shrink', out1.recordOps && '--record-ops', out1.dir && '-P', parsed.run.replayOps && '--replay-ops'].filter(Boolean);
    if (perRun.length) throw new UsageError(`${perRun.join(', ')}: a sweep runs its seeds in memory and writes no per-run files (--out FILE keeps one JSON line per seed)`);
    const config = parsed.run.apply(defaultConfig());
    if (config.fsx.keepExisting || config.fsx.lite) throw new UsageError('-k and -L need an existing file: run them with daxfsx FILE, not in a sweep');
    const seeds = shardSeeds(range, shard);
    let bar: cliProgress.SingleBar | undefined;
    if (io.isTTY) {
      bar = new cliProgress.SingleBar({ format: 'daxfsx sweep [{bar}] {value}/{total} seeds  {eta_formatted} left', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
      bar.start(seeds.length, 0);
    }
    const t0 = performance.now();
    const { results, stopped } = await runSeeds(config, seeds, Math.min(jobs, Math.max(1, seeds.length)), (n) => bar?.update(n), () => (interrupted?.() ?? 0) !== 0);
    bar?.stop();
    const secs = (performance.now() - t0) / 1000;
    if (out) writeFileSync(out, ndjson(results));
    const w = (s: string): void => io.stdout.write(s + '\n');
    w(`${results.length} seeds${shard[1] > 1 ? ` (shard ${shard[0]}/${shard[1]} of ${range[0]}..${range[1]})` : ` (${range[0]}..${range[1]})`}${stopped ? ', stopped by a signal' : ''}, ${jobs} job(s), ${secs.toFixed(1)} s`);
    for (const l of summaryTable(results)) w(l);
    return stopped ? (interrupted?.() ?? 2) : 0;
  } catch (e) {
    if (e instanceof UsageError) return fail(e.message, e.exitCode);
    throw e;
  }
}
