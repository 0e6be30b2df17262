import { FsxEngine, type FsxOutput, type OpsHeader } from '../fsx/engine.js';
import type { OpsParseError, ParsedOp } from '../fsx/fsxops.js';
import type { GenArena } from '../fsx/gendata.js';
import type { Kernel } from '../kernel/core.js';
import { addBackgroundTasks, buildMachine, flipperTaskFor, mountFor } from '../kernel/machine.js';
import { flipOnce, flipperTask, type ModelFile } from '../kernel/syscalls.js';
import { PctStrategy } from '../sched/pct.js';
import { Positioned } from '../sched/positioned.js';
import { RandomStrategy } from '../sched/random.js';
import { Recording } from '../sched/record.js';
import { FsxPosition, type FlipSpec } from '../sched/schedule.js';
import type { Scheduler } from '../sched/scheduler.js';
import { AnchorWait, ScriptStrategy } from '../sched/script.js';
import { makePrng, type Strategy } from '../sched/strategy.js';
import type { Gen, Task, Waitable } from '../sched/task.js';
import type { RunConfig } from './config.js';
import { classify, type Outcome } from './outcome.js';

/** Where fsx's operations come from. */
export type OpSource =
  /** fsx draws them from its stream (a plain run, a sweep's seed). */
  | { kind: 'stream' }
  /** Op lines replayed in fsx's semantics (fsx's --replay-ops; a script's ops). */
  | { kind: 'lines'; ops: ParsedOp[]; error?: OpsParseError }
  /** The stream drawn again and checked against a recording's op lines (an exact replay). */
  | { kind: 'expect'; ops: ParsedOp[]; firstOp: number; file: string };

/** What the other tasks do. */
export type FlipperPlan =
  /** The seed's shell loop, per the config (none with --no-flip), under the config's strategy. */
  | { kind: 'loop' }
  /** One flipper making a schedule's flips at their anchors, following its choices. */
  | { kind: 'script'; flips: readonly FlipSpec[] }
  /** One flipper that may flip up to `maxFlips` times whenever the strategy runs it (explore). */
  | { kind: 'explore'; maxFlips: number };

/** What a strategy factory gets to see: the run's parts. */
export interface RunParts {
  k: Kernel;
  sched: Scheduler;
  engine: FsxEngine;
  /** fsx's file (its open file and what it remembers of its last close). */
  file: ModelFile;
  fsx: Task;
  flippers: readonly Task[];
  background: readonly Task[];
  position: FsxPosition;
  /** The explore flipper's wait between flips: runnable, but a default schedule leaves it alone. */
  idle: Waitable;
}

export interface RunPlan {
  config: RunConfig;
  ops?: OpSource;
  flippers?: FlipperPlan;
  /** Where fsx's printing goes (nowhere by default). */
  output?: FsxOutput;
  /** fsx's file names, for what it prints. */
  fname?: string;
  goodfile?: string;
  opsPath?: string;
  opsHeader?: OpsHeader;
  /** -k/-L: the file's contents on disk. */
  existing?: Uint8Array;
  /** Keep the trace of events (for explanations and pictures). */
  trace?: boolean;
  /** A sweep worker's memory for the good buffer, reused from seed to seed. */
  arena?: GenArena;
  /** Record the run as a script: every op (up to this many) and the schedule. */
  record?: number;
  /** The strategy to use instead of the config's (explore's); wrapped like any other. */
  strategy?: (parts: RunParts) => Strategy;
}

const F_OP = (tc: number): string => `fsx op ${tc} begins`;

const SILENT: FsxOutput = { prt: () => {}, warn: () => {}, writeOps: () => null, writeGood: () => {} };

/** The explore flipper between flips. */
class Idle implements Waitable {
  ready(): boolean {
    return true;
  }
  describe(): string {
    return 'between flips';
  }
}

/**
 * One run, built the same way for every command (run, replay, sweep
 * worker, shrink, explore, scenario): the machine, the fsx task, the
 * flippers, the engine and the strategy, from a config and a plan.
 */
export class Run {
  readonly k: Kernel;
  readonly sched: Scheduler;
  readonly engine: FsxEngine;
  readonly fsx: Task;
  readonly file: ModelFile;
  readonly flippers: Task[] = [];
  /** drop_caches and the flusher, when the config asks for them. */
  readonly background: Task[];
  readonly position: FsxPosition;
  /** The schedule being written down (plan.record). */
  readonly recording: Recording | undefined;
  /** The script being followed (flippers: script). */
  readonly script: ScriptStrategy | undefined;
  /** Flips the flippers made, and flips refused (EBUSY). */
  readonly flipResults = { ok: 0, busy: 0 };
  private outcome: Outcome | null = null;
  /** What a task threw to end the run (for the reporters that print the kernel's own text). */
  cause: unknown;

  constructor(readonly plan: RunPlan) {
    const { fsx: f, model: m } = plan.config;
    const maxLen = plan.existing ? plan.existing.length : f.maxfilelen;
    const mach = buildMachine({ fs: m.fs, kernel: m.kernel, initialDax: m.initialDax, panicOnWarn: m.panicOnWarn, maxFileLen: maxLen, seed: f.seed, trace: plan.trace ?? false, hungSteps: m.hungSteps });
    this.k = mach.k;
    this.sched = mach.sched;
    this.fsx = mach.fsx;
    this.file = mach.file;
    if (plan.existing) this.k.loadInitial(plan.existing);
    // the mount and fsx's close/open drop take effect before the file is first opened
    this.k.mount = mountFor(m.kernel, m.fs, m.mount);
    this.k.closeOpenDrop = m.closeOpenDrop;
    const fname = plan.fname ?? 'daxfsx';
    const engine = new FsxEngine(f, mach.file, plan.output ?? SILENT, fname, plan.goodfile ?? `${fname}.fsxgood`, plan.opsHeader);
    this.engine = engine;
    engine.opsPath = plan.opsPath ?? `${fname}.fsxops`;
    engine.arena = plan.arena;
    const ops = plan.ops ?? { kind: 'stream' };
    if (ops.kind === 'lines') engine.setReplay(ops.ops, ops.error);
    else if (ops.kind === 'expect') engine.expectOps(ops.ops, ops.firstOp, ops.file);
    if (plan.record) engine.keepOps(plan.record);
    this.position = new FsxPosition(() => engine.testcalls);
    // op boundaries in the trace: which events belong to which fsx op (explanations read them)
    if (this.k.trace.enabled) {
      const trace = this.k.trace;
      const fsx = this.fsx;
      engine.onOpStart = (tc, index) => trace.add(fsx, 'op', F_OP, tc, index);
    }

    const existing = plan.existing;
    this.sched.add(
      this.fsx,
      (function* (): Gen<void> {
        yield* mach.file.open({ direct: f.oDirect });
        yield* engine.init(existing);
        yield* engine.run();
      })(),
    );

    const flip = plan.flippers ?? { kind: 'loop' };
    const idle = new Idle();
    let base: Strategy | undefined;
    if (flip.kind === 'script') {
      const flips = [...flip.flips].sort((a, b) => a.op - b.op || a.tick - b.tick);
      const t = this.addFlipper((t) => scriptedFlipper(this.k, t, flips, this.position));
      this.script = new ScriptStrategy(this.fsx, t, flips);
      base = this.script;
    } else if (flip.kind === 'explore') {
      const k = this.k;
      this.addFlipper(function* (t): Gen<void> {
        for (let i = 0; i < flip.maxFlips; i++) {
          yield idle;
          yield* flipOnce(k, t);
        }
      });
    } else if (m.flip) {
      for (let i = 0; i < m.flippers; i++) {
        const t = flipperTaskFor(i);
        this.sched.add(t, flipperTask(this.k, t, makePrng(f.seed, `flipper${i}`), m.flipInterval, this.sched, this.flipResults));
        this.flippers.push(t);
      }
    }
    // the optional background tasks (drop_caches, the flusher) run under every plan
    this.background = addBackgroundTasks({ k: this.k, sched: this.sched, fsx: this.fsx, file: this.file }, f.seed, m);
    const parts: RunParts = { k: this.k, sched: this.sched, engine, file: this.file, fsx: this.fsx, flippers: this.flippers, background: this.background, position: this.position, idle };
    base ??= plan.strategy ? plan.strategy(parts) : this.configStrategy();
    if (plan.record) base = this.recording = new Recording(base, this.fsx, this.flippers, this.position);
    this.sched.strategy = base.everyStep ? new Positioned(base, this.fsx, this.position) : base;
  }

  private addFlipper(body: (t: Task) => Gen<void>): Task {
    const t = flipperTaskFor(this.flippers.length);
    this.sched.add(t, body(t));
    this.flippers.push(t);
    return t;
  }

  /** The config's strategy: seeded random (flippers weighted) or PCT. */
  private configStrategy(): Strategy {
    const { fsx: f, model: m } = this.plan.config;
    if (m.sched === 'pct') {
      const estimate = (f.numops > 0 ? f.numops : 10000) * 60;
      return new PctStrategy(makePrng(f.seed, 'pct'), [this.fsx, ...this.flippers, ...this.background], m.pctDepth, estimate);
    }
    return new RandomStrategy(makePrng(f.seed, 'sched'), new Map(this.flippers.map((t) => [t, m.flipWeight])));
  }

  /**
   * Run up to `budget` steps; the outcome when the run ended (fsx finished
   * or something stopped it), null when it goes on.
   */
  advance(budget: number): Outcome | null {
    if (this.outcome) return this.outcome;
    try {
      if (!this.sched.run(this.fsx, budget)) return null;
      this.outcome = { kind: 'clean' };
    } catch (e) {
      const o = classify(e, this.k);
      if (!o) throw e;
      this.outcome = o;
      this.cause = e;
    }
    if (this.plan.record) this.engine.keepInFlight();
    return this.outcome;
  }

  /** Stop here: a signal came. */
  interrupt(signal: number): Outcome {
    this.outcome = { kind: 'interrupted', signal };
    return this.outcome;
  }

  /** Run to the end, or to `maxSteps` (a run cut off there counts as clean). */
  finish(maxSteps = Infinity): Outcome {
    const o = this.advance(maxSteps);
    if (o) return o;
    this.outcome = { kind: 'clean' };
    if (this.plan.record) this.engine.keepInFlight();
    return this.outcome;
  }

  /** The counts every record of a run carries. */
  get counts(): { ops: number; steps: number; flips: number } {
    return { ops: this.engine.testcalls, steps: this.sched.step, flips: this.k.flips };
  }
}

/** A flipper following a schedule: each flip when fsx reaches its anchor. */
function* scriptedFlipper(k: Kernel, t: Task, flips: readonly FlipSpec[], position: FsxPosition): Gen<void> {
  for (const spec of flips) {
    yield new AnchorWait(position, spec);
    yield* flipOnce(k, t);
  }
}
