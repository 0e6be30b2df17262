import type { RunArgs } from '../cli/fsxargs.js';
import { FsxEngine, FsxExit, type FsxOutput } from '../fsx/engine.js';
import { KernelPanic } from '../kernel/core.js';
import { buildMachine } from '../kernel/machine.js';
import { FaultLoop } from '../kernel/mm/memory.js';
import { DaxStateMismatch } from '../kernel/sdaxcheck.js';
import type { TraceEvent } from '../kernel/trace.js';
import { HungTask } from '../sched/scheduler.js';
import { startTasks } from '../runsetup.js';
import { ScriptRecorder, type Script } from './script.js';
import type { GenArena } from '../fsx/gendata.js';

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
  exitCode: number;
}

const SILENT: FsxOutput = { prt: () => {}, warn: () => {}, writeOps: () => null, writeGood: () => {} };

/** The verdict and signature of whatever ended a run. */
export function classify(e: unknown): { verdict: string; signature: string; pid: number; exitCode: number } | null {
  if (e instanceof FsxExit) return { verdict: e.check, signature: e.check, pid: 6052, exitCode: e.status };
  if (e instanceof KernelPanic) return { verdict: e.kind, signature: e.func, pid: e.task.pid, exitCode: e.kind === 'warning' ? 52 : 50 };
  if (e instanceof HungTask) return { verdict: 'hung', signature: `hung in ${e.task.stack[e.task.stack.length - 2] ?? 'down'}`, pid: e.task.pid, exitCode: 51 };
  if (e instanceof FaultLoop) return { verdict: 'hung', signature: 'fault retried forever', pid: e.task.pid, exitCode: 51 };
  if (e instanceof DaxStateMismatch) return { verdict: e.verdict, signature: e.signature, pid: e.task.pid, exitCode: e.exitCode };
  return null;
}

function setup(ra: RunArgs, trace: boolean, script?: Script, arena?: GenArena) {
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
  engine.arena = arena;
  let opStart = 0;
  engine.onOp = () => {
    opStart = mach.sched.step;
  };
  const started = startTasks(ra, mach, engine, undefined, script);
  return { ...mach, engine, started, opStart: () => opStart };
}

function finish(s: ReturnType<typeof setup>, maxSteps: number, trace: boolean): Exec {
  let result: { verdict: string; signature: string; pid: number; exitCode: number } = { verdict: 'ok', signature: '', pid: 0, exitCode: 0 };
  try {
    s.sched.run(s.fsx, maxSteps);
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
    diverged: s.started.scriptStrategy?.diverged ?? null,
    events: trace && result.signature ? s.k.trace.since(s.opStart()) : [],
    failingPid: result.pid,
    exitCode: result.exitCode,
  };
}

/** Run a script in memory. */
export function executeScript(ra: RunArgs, script: Script, trace = false, maxSteps = 5_000_000): Exec {
  return finish(setup(ra, trace, script), maxSteps, trace);
}

/** A generated run (the seed's stream, the seeded scheduler) in memory: what a sweep runs per seed. */
export function runGenerated(ra: RunArgs, maxSteps = Infinity, arena?: GenArena): Exec {
  return finish(setup(ra, false, undefined, arena), maxSteps, false);
}

/** Run a generated run and record it as a script. */
export function recordGenerated(ra: RunArgs, maxSteps = 50_000_000): { exec: Exec; script: Script } {
  const s = setup(ra, false);
  const rec = new ScriptRecorder(s.sched, s.engine, s.fsx, s.started.flippers);
  const prev = s.engine.onOp;
  s.engine.onOp = (n) => {
    rec.afterOp();
    prev?.(n);
  };
  const exec = finish(s, maxSteps, false);
  rec.finish();
  return { exec, script: { args: [], ops: rec.ops, flips: rec.anchoredFlips() } };
}
