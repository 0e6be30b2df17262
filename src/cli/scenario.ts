import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { defaultConfig, type RunConfig } from '../core/config.js';
import type { RunRecord } from '../core/outcome.js';
import { DESIGN_NAMES, isDesignName } from '../kernel/designs.js';
import { runSeeds } from '../sweep/pool.js';
import { EXIT } from '../core/outcome.js';
import { UsageError, errText } from '../util/errors.js';
import type { Sink } from '../util/sink.js';
import { configFromArgv } from './program.js';
import { parseSeeds } from '../sweep/seeds.js';
import { summarize } from '../sweep/summary.js';

type SeedResult = RunRecord;

interface Io {
  stdout: Sink;
  stderr: Sink;
  isTTY: boolean;
  env: NodeJS.ProcessEnv;
}

/**
 * A scenario: what to run and what must come out.
 *   { "name", "description", "fs", "kernel", "args": [...], "flippers", "sched",
 *     "seeds": "1..20", "ops": 20000,
 *     "expect": { "verdict": "oops", "signature": "iomap_page_mkwrite", "atLeast": 5 } }
 * or "expect": { "clean": true } (every seed runs all its ops with no failure).
 */
export interface Scenario {
  file: string;
  name: string;
  description: string;
  fs: 'xfs' | 'ext4';
  kernel: string;
  args: string[];
  flippers: number;
  sched: 'random' | 'pct';
  seeds: [number, number];
  ops: number;
  expect: { clean: true } | { verdict?: string; signature?: string; atLeast: number };
  /** What each seed runs. */
  config: RunConfig;
}

const KEYS = new Set(['name', 'description', 'fs', 'kernel', 'args', 'flippers', 'sched', 'seeds', 'ops', 'expect']);

/** Read and check a scenario file: every problem names the file, the field and why. */
export function loadScenario(file: string): Scenario {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw code ? new UsageError(`${file}: ${errText(e)}`, EXIT.FILE) : new UsageError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const bad = (field: string, why: string): never => {
    throw new UsageError(`${file}: field '${field}': ${why}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad('(top)', 'a scenario is a JSON object');
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.has(k)) bad(k, `unknown field (known: ${[...KEYS].join(', ')})`);
  const str = (k: string, def?: string): string => {
    const v = o[k] ?? def;
    if (typeof v !== 'string' || !v) bad(k, 'must be a non-empty string');
    return v as string;
  };
  const name = str('name');
  const fs = str('fs', 'xfs');
  if (fs !== 'xfs' && fs !== 'ext4') bad('fs', `must be "xfs" or "ext4", not "${fs}"`);
  const kernelArg = str('kernel', 'immediate');
  // a design file's path is relative to the scenario file (as a scenario in scenarios/ names ../designs/x.json)
  const kernel = isDesignName(kernelArg) || isAbsolute(kernelArg) || !(kernelArg.includes('/') || kernelArg.endsWith('.json')) ? kernelArg : join(dirname(file), kernelArg);
  if (!DESIGN_NAMES.includes(kernel as (typeof DESIGN_NAMES)[number]) && !kernel.includes('/') && !kernel.endsWith('.json')) bad('kernel', `must be one of ${DESIGN_NAMES.join(', ')} or a design file (a path with '/' or ending in .json), not "${kernel}"`);
  const args = o.args ?? [];
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) bad('args', 'must be an array of strings (daxfsx run options)');
  const flippers = o.flippers ?? 1;
  if (!Number.isInteger(flippers) || (flippers as number) < 1) bad('flippers', 'must be a whole number >= 1');
  const sched = o.sched ?? 'random';
  if (sched !== 'random' && sched !== 'pct') bad('sched', 'must be "random" or "pct"');
  let seeds: [number, number] = [1, 1];
  try {
    seeds = parseSeeds(String(o.seeds ?? ''));
  } catch {
    bad('seeds', `must be "A..B" with 1 <= A <= B, not ${JSON.stringify(o.seeds)}`);
  }
  const ops = o.ops ?? 10000;
  if (!Number.isInteger(ops) || (ops as number) < 1) bad('ops', 'must be a whole number >= 1');
  const e = o.expect;
  if (typeof e !== 'object' || e === null) bad('expect', 'must be an object: {"clean": true} or {"verdict", "signature", "atLeast"}');
  const ex = e as Record<string, unknown>;
  let expect: Scenario['expect'];
  if (ex.clean === true) {
    if (Object.keys(ex).length !== 1) bad('expect', '"clean": true stands alone');
    expect = { clean: true };
  } else {
    for (const k of Object.keys(ex)) if (!['verdict', 'signature', 'atLeast'].includes(k)) bad(`expect.${k}`, 'unknown field (verdict, signature, atLeast)');
    if (ex.verdict === undefined && ex.signature === undefined) bad('expect', 'needs a verdict or a signature (or "clean": true)');
    if (ex.verdict !== undefined && typeof ex.verdict !== 'string') bad('expect.verdict', 'must be a string');
    if (ex.signature !== undefined && typeof ex.signature !== 'string') bad('expect.signature', 'must be a string');
    const atLeast = ex.atLeast ?? 1;
    const n = seeds[1] - seeds[0] + 1;
    if (!Number.isInteger(atLeast) || (atLeast as number) < 1 || (atLeast as number) > n) bad('expect.atLeast', `must be a whole number from 1 to the number of seeds (${n})`);
    expect = { verdict: ex.verdict as string | undefined, signature: ex.signature as string | undefined, atLeast: atLeast as number };
  }
  const sc: Scenario = {
    file,
    name,
    description: typeof o.description === 'string' ? o.description : '',
    fs: fs as Scenario['fs'],
    kernel,
    args: args as string[],
    flippers: flippers as number,
    sched: sched as Scenario['sched'],
    seeds,
    ops: ops as number,
    expect,
    config: defaultConfig(),
  };
  try {
    sc.config = scenarioConfig(sc);
  } catch (err) {
    bad('args', (err as Error).message);
  }
  return sc;
}

/** A scenario's run config: its fields, then its args. */
function scenarioConfig(s: Scenario): RunConfig {
  return configFromArgv(['-q', '-N', String(s.ops), '--fs', s.fs, '--kernel', s.kernel, '--flippers', String(s.flippers), '--sched', s.sched, ...s.args]);
}

export interface ScenarioOutcome {
  scenario: Scenario;
  expected: string;
  got: string;
  pass: boolean;
  seconds: number;
  results: SeedResult[];
}

export function expectedText(s: Scenario): string {
  if ('clean' in s.expect) return 'clean';
  const e = s.expect;
  return `${[e.verdict, e.signature && e.signature !== e.verdict ? `in ${e.signature}` : ''].filter(Boolean).join(' ')} on >= ${e.atLeast}`;
}

export function judge(s: Scenario, results: SeedResult[]): { pass: boolean; got: string } {
  const sums = summarize(results);
  const got = sums.map((x) => `${x.signature} ${x.count}`).join(', ');
  if ('clean' in s.expect) return { pass: results.every((r) => !r.signature && r.ops === s.ops), got };
  const e = s.expect;
  const hits = results.filter((r) => r.signature && (e.verdict === undefined || r.verdict === e.verdict) && (e.signature === undefined || r.signature === e.signature)).length;
  return { pass: hits >= e.atLeast, got };
}

function scenarioFiles(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new UsageError(`${p}: No such file or directory`, EXIT.FILE);
    }
    if (st.isDirectory()) for (const f of readdirSync(p).sort()) if (f.endsWith('.json')) out.push(join(p, f));
    if (st.isFile()) out.push(p);
  }
  return out;
}

const xml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function junitXml(outcomes: ScenarioOutcome[]): string {
  const failures = outcomes.filter((o) => !o.pass).length;
  const total = outcomes.reduce((a, o) => a + o.seconds, 0);
  const cases = outcomes.map((o) => {
    const body = o.pass ? '' : `\n      <failure message="${xml(`expected ${o.expected}, got ${o.got}`)}">${xml(`expected: ${o.expected}\ngot: ${o.got}\nscenario: ${o.scenario.file}`)}</failure>\n    `;
    return `    <testcase classname="daxfsx.scenarios" name="${xml(o.scenario.name)}" time="${o.seconds.toFixed(3)}">${body}</testcase>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites tests="${outcomes.length}" failures="${failures}" time="${total.toFixed(3)}">\n  <testsuite name="daxfsx scenarios" tests="${outcomes.length}" failures="${failures}" time="${total.toFixed(3)}">\n${cases.join('\n')}\n  </testsuite>\n</testsuites>\n`;
}

/**
 * `daxfsx scenario run [PATHS...] [--junit FILE] [--jobs N]`. `interrupted` (a signal's number, or 0)
 * abandons the scenario in progress (its seeds in flight too) and runs no more: the table and JUnit XML
 * hold the scenarios that finished, and the signal's number is returned.
 */
export async function runScenarioCli(argv: string[], io: Io, interrupted?: () => number): Promise<number> {
  const fail = (msg: string, code = 90): number => {
    io.stderr.write(`daxfsx scenario: ${msg}\n`);
    return code;
  };
  if (argv[0] !== 'run' || argv.includes('--help')) {
    io.stdout.write(
      'Usage: daxfsx scenario run [PATHS...] [--junit FILE] [--jobs N]\n  Runs scenarios/*.json (or the files and folders named) and checks each comes out as expected.\n' +
        '  Exit 0 when every scenario did, 1 when any fell short, 2 or 15 when SIGINT or SIGTERM stopped it\n' +
        '  (the scenario in progress is abandoned; the table and --junit hold the ones that finished).\n',
    );
    return argv.includes('--help') ? 0 : 90;
  }
  let junit: string | undefined;
  let jobs = availableParallelism();
  const paths: string[] = [];
  const rest = argv.slice(1);
  try {
    for (let i = 0; i < rest.length; i++) {
      const a = rest[i];
      if (a === '--junit') junit = rest[++i];
      else if (a.startsWith('--junit=')) junit = a.slice(8);
      else if (a === '--jobs' || a.startsWith('--jobs=')) {
        const v = a.includes('=') ? a.slice(7) : rest[++i];
        jobs = Number(v);
        if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`option --jobs: must be a whole number >= 1 (got ${v})`);
      } else if (a.startsWith('-')) throw new UsageError(`unknown option '${a}'`);
      else paths.push(a);
    }
    const files = scenarioFiles(paths.length ? paths : ['scenarios']);
    if (!files.length) return fail('no scenario files found');
    const scenarios = files.map(loadScenario);
    const outcomes: ScenarioOutcome[] = [];
    const signalled = (): boolean => (interrupted?.() ?? 0) !== 0;
    // the scenario a signal stopped, and how many of its seeds had finished
    let stopped: { scenario: Scenario; seeds: number; of: number } | undefined;
    for (const s of scenarios) {
      if (signalled()) break;
      const t0 = performance.now();
      const seeds: number[] = [];
      for (let x = s.seeds[0]; x <= s.seeds[1]; x++) seeds.push(x);
      const run = await runSeeds(s.config, seeds, Math.min(jobs, seeds.length), undefined, signalled);
      if (run.stopped) {
        stopped = { scenario: s, seeds: run.results.length, of: seeds.length };
        break;
      }
      const { pass, got } = judge(s, run.results);
      outcomes.push({ scenario: s, expected: expectedText(s), got, pass, seconds: (performance.now() - t0) / 1000, results: run.results });
    }
    const rows = outcomes.map((o) => [o.pass ? 'pass' : 'FAIL', o.scenario.name, o.expected, o.got, `${o.scenario.seeds[0]}..${o.scenario.seeds[1]}`, `${o.seconds.toFixed(1)} s`]);
    const head = ['', 'scenario', 'expected', 'got', 'seeds', 'time'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
    io.stdout.write([line(head), ...rows.map(line)].join('\n') + '\n');
    const failed = outcomes.filter((o) => !o.pass).length;
    const notRun = scenarios.length - outcomes.length - (stopped ? 1 : 0);
    const cut = outcomes.length < scenarios.length;
    const stopNote = !cut
      ? ''
      : `; stopped by a signal${stopped ? ` in '${stopped.scenario.name}' (${stopped.seeds} of ${stopped.of} seeds run, not judged)` : ''}${notRun ? `, ${notRun} not run` : ''}`;
    io.stdout.write(`${outcomes.length - failed} passed, ${failed} failed${stopNote}\n`);
    if (junit) writeFileSync(junit, junitXml(outcomes));
    if (cut) return interrupted?.() || 2;
    return failed ? 1 : 0;
  } catch (e) {
    if (e instanceof UsageError) return fail(e.message, e.exitCode);
    throw e;
  }
}

/**
 * `daxfsx matrix [--markdown] [--seeds A..B] [--ops N]`: designs x file systems, what each reaches.
 * `interrupted` (a signal's number, or 0) abandons the cell in progress and runs no more: the table
 * shows the cells that finished (the others '-'), and the signal's number is returned.
 */
export async function runMatrixCli(argv: string[], io: Io, interrupted?: () => number): Promise<number> {
  let markdown = false;
  let seeds: [number, number] = [1, 50];
  let ops = 10000;
  try {
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      if (a === '--markdown') markdown = true;
      else if (a === '--seeds') seeds = parseSeeds(argv[++i] ?? '');
      else if (a === '--ops') {
        ops = Number(argv[++i]);
        if (!Number.isInteger(ops) || ops < 1) throw new UsageError('option --ops: must be a whole number >= 1');
      } else if (a === '--help') {
        io.stdout.write(
          'Usage: daxfsx matrix [--markdown] [--seeds A..B] [--ops N]\n  What each design reaches on XFS and ext4: the history of the seed in one table.\n' +
            '  SIGINT or SIGTERM stops it: the cells that finished are shown (the others -), exit 2 or 15.\n',
        );
        return 0;
      } else throw new UsageError(`unknown option '${a}'`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`daxfsx matrix: ${e.message}\n`);
      return 90;
    }
    throw e;
  }
  const list: number[] = [];
  for (let x = seeds[0]; x <= seeds[1]; x++) list.push(x);
  const signalled = (): boolean => (interrupted?.() ?? 0) !== 0;
  // a cell a signal kept from finishing stays '-'
  const cells: Record<string, Record<string, string>> = {};
  for (const kernel of DESIGN_NAMES) cells[kernel] = { xfs: '-', ext4: '-' };
  let cut = false;
  run: for (const kernel of DESIGN_NAMES) {
    for (const fs of ['xfs', 'ext4']) {
      cut = signalled();
      if (cut) break run;
      const { results, stopped } = await runSeeds(configFromArgv(['-q', '-N', String(ops), '--fs', fs, '--kernel', kernel]), list, Math.min(availableParallelism(), list.length), undefined, signalled);
      cut = stopped;
      if (cut) break run;
      cells[kernel][fs] = summarize(results)
        .map((s) => (s.signature === 'clean' ? `clean ${s.count}` : `${s.signature} ${s.count} (first seed ${s.firstSeed})`))
        .join('; ');
    }
  }
  const title = `seeds ${seeds[0]}..${seeds[1]}, up to ${ops} ops each${cut ? ', stopped by a signal (- not finished)' : ''}`;
  if (markdown) {
    io.stdout.write(`| design (${title}) | XFS | ext4 |\n|---|---|---|\n`);
    for (const k of DESIGN_NAMES) io.stdout.write(`| \`${k}\` | ${cells[k].xfs} | ${cells[k].ext4} |\n`);
  } else {
    io.stdout.write(`${title}\n`);
    for (const k of DESIGN_NAMES) io.stdout.write(`${k.padEnd(14)} xfs:  ${cells[k].xfs}\n${''.padEnd(14)} ext4: ${cells[k].ext4}\n`);
  }
  return cut ? interrupted?.() || 2 : 0;
}
