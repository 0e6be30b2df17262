import type { RunArgs } from '../cli/fsxargs.js';
import { FsxEngine, FsxExit, type FsxOutput } from '../fsx/engine.js';
import { KernelPanic } from '../kernel/core.js';
import { buildMachine, flipperTaskFor } from '../kernel/machine.js';
import { FaultLoop } from '../kernel/mm/memory.js';
import { flipperTask } from '../kernel/syscalls.js';
import type { TraceEvent } from '../kernel/trace.js';
import { HungTask, RandomStrategy, makePrng } from '../sched/scheduler.js';
import { installScript, ScriptRecorder, type Script } from './script.js';

/** What a run came to, in memory (no files): for shrinking and exploring. */
export interface Exec {
  verdict: string;
  /** The failing function or check; '' when clean. */
  signature: string;
  steps: number;
  flips: number;
  ops: number;
  /** The script's recorded choices did not fit this run. */
  diverged: string | null;
  /** Trace of the failing operation (when asked for). */
  events: TraceEvent[];
  failingPid: number;
}

const SILENT: FsxOutput = { prt: () => {}, warn: () => {}, writeOps: () => null, writeGood: () => {} };

/** The verdict and signature of whatever ended a run. */
export function classify(e: unknown): { verdict: string; signature: string; pid: number } | null {
  if (e instanceof FsxExit) return { verdict: e.check, signature: e.check, pid: 6052 };
  if (e instanceof KernelPanic) return { verdict: e.kind, signature: e.func, pid: e.task.pid };
  if (e instanceof HungTask) return { verdict: 'hung', signature: `hung in ${e.task.stack[e.task.stack.length - 2] ?? 'down'}`, pid: e.task.pid };
  if (e instanceof FaultLoop) return { verdict: 'hung', signature: 'fault retried forever', pid: e.task.pid };
  return null;
}

function setup(ra: RunArgs, trace: boolean) {
  const f = ra.fsx;
  const m = ra.model;
  const mach = buildMachine({
    fs: m.fs,
    kernel: m.kernel,
    initialDax: m.initialDax,
    panicOnWarn: m.panicOnWarn,
    maxFileLen: f.maxfilelen,
    seed: f.seed,
    trace,
    hungSteps: m.hungSteps,
  });
  const engine = new FsxEngine(f, mach.file, SILENT, 'script', 'script.fsxgood');
  let opStart = 0;
  const prev = engine.onOp;
  engine.onOp = (n) => {
    prev?.(n);
    opStart = mach.sched.step;
  };
  mach.sched.add(
    mach.fsx,
    (function* () {
      yield* mach.file.open({ direct: f.oDirect });
      yield* engine.init();
      yield* engine.run();
    })(),
  );
  return { ...mach, engine, opStart: () => opStart };
}

function finish(s: ReturnType<typeof setup>, maxSteps: number, trace: boolean, diverged: () => string | null): Exec {
  let result: { verdict: string; signature: string; pid: number } = { verdict: 'ok', signature: '', pid: 0 };
  try {
    if (!s.sched.run(s.fsx, maxSteps)) result = { verdict: 'ok', signature: '', pid: 0 };
  } catch (e) {
    const c = classify(e);
    if (!c) throw e;
    result = c;
  }
  return {
    verdict: result.verdict,
    signature: result.signature,
    steps: s.sched.step,
    flips: s.k.flips,
    ops: s.engine.testcalls,
    diverged: diverged(),
    events: trace && result.signature ? s.k.trace.since(s.opStart()) : [],
    failingPid: result.pid,
  };
}

/** Run a script in memory. */
export function executeScript(ra: RunArgs, script: Script, trace = false, maxSteps = 5_000_000): Exec {
  const s = setup(ra, trace);
  const strategy = installScript(s.k, s.sched, s.engine, s.fsx, flipperTaskFor(0), script);
  return finish(s, maxSteps, trace, () => strategy.diverged);
}

/** Run a generated run (the seed's stream, the seeded scheduler) and record it as a script. */
export function recordGenerated(ra: RunArgs, maxSteps = 50_000_000): { exec: Exec; script: Script } {
  const s = setup(ra, false);
  const m = ra.model;
  const flipper = flipperTaskFor(0);
  flipper.weight = m.flipWeight;
  if (m.flip) s.sched.add(flipper, flipperTask(s.k, flipper, makePrng(ra.fsx.seed, 'flipper0'), m.flipInterval, s.sched, { ok: 0, busy: 0 }));
  s.sched.strategy = new RandomStrategy(makePrng(ra.fsx.seed, 'sched'));
  const rec = new ScriptRecorder(s.sched, s.engine, s.fsx, [flipper]);
  const prev = s.engine.onOp;
  s.engine.onOp = (n) => {
    rec.afterOp();
    prev?.(n);
  };
  const exec = finish(s, maxSteps, false, () => null);
  rec.finish();
  return { exec, script: { args: [], ops: rec.ops, flips: rec.anchoredFlips() } };
}
