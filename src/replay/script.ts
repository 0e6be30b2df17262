import type { FsxEngine } from '../fsx/engine.js';
import type { ParsedOp } from '../fsx/fsxops.js';
import { formatOpsLine } from '../fsx/oplog.js';
import { FL, OP, OP_NAMES, opCode } from '../fsx/ops.js';
import type { Kernel } from '../kernel/core.js';
import { flipOnce } from '../kernel/syscalls.js';
import type { Scheduler, Strategy } from '../sched/scheduler.js';
import type { Task, Waitable } from '../sched/task.js';

/**
 * A scripted run: fsx's operations (as replay lines, with the op number
 * whose data each writes) and the flips, each anchored to where fsx was
 * when the flipper woke (op number, preemption points into that op) with
 * the scheduler's choices while both could run. Shrinking edits scripts;
 * `.min.fsxops` files hold one.
 */
export interface FlipSpec {
  /** fsx's op number (0: before the first op) and preemption points into it. */
  op: number;
  tick: number;
  /** Scheduler choices while both tasks could run: 'f' fsx, '0'.. a flipper. Empty: the flipper runs. */
  choices: string;
}

export interface Script {
  args: string[];
  ops: ParsedOp[];
  flips: FlipSpec[];
}

const FLIP = '# daxfsx-flip: ';
const FLIP_MORE = '# daxfsx-flip+ ';
const OPLINE = '# daxfsx-op: ';
const CHUNK = 200;

/** The .fsxops lines of a script: daxfsx's data on # lines, the op lines fsx can replay. */
export function scriptLines(s: Script): string[] {
  const out: string[] = [];
  for (const f of s.flips) {
    const c = f.choices || '-';
    out.push(`${FLIP}${f.op} ${f.tick} ${c.slice(0, CHUNK)}`);
    for (let i = CHUNK; i < c.length; i += CHUNK) out.push(FLIP_MORE + c.slice(i, i + CHUNK));
  }
  for (const o of s.ops) {
    const real = o.real !== undefined && o.real !== o.op ? ` ${OP_NAMES[o.real]}` : '';
    out.push(`${OPLINE}${o.tc ?? 0}${real}`);
    out.push(formatOpsLine(o, false));
  }
  return out;
}

/** Attach the '# daxfsx-op' and '# daxfsx-flip' data of a file to its parsed op lines. */
export function readScript(text: string, ops: ParsedOp[], args: string[]): Script {
  const flips: FlipSpec[] = [];
  const annot = new Map<number, { tc: number; real?: number }>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (l.startsWith(FLIP)) {
      const [op, tick, choices] = l.slice(FLIP.length).split(' ');
      flips.push({ op: Number(op), tick: Number(tick), choices: choices === '-' ? '' : choices ?? '' });
    } else if (l.startsWith(FLIP_MORE) && flips.length) {
      flips[flips.length - 1].choices += l.slice(FLIP_MORE.length);
    } else if (l.startsWith(OPLINE)) {
      const [tc, real] = l.slice(OPLINE.length).split(' ');
      // the annotation belongs to the next op line (line numbers are 1-based)
      annot.set(i + 2, { tc: Number(tc), real: real ? opCode(real) : undefined });
    }
  }
  const withData = ops.map((o) => {
    const a = annot.get(o.line);
    return a ? { ...o, tc: a.tc, real: a.real !== undefined && a.real >= 0 ? a.real : undefined } : o;
  });
  return { args, ops: withData, flips };
}

/** Waits until fsx reaches a position: (op, preemption points into it). */
class AnchorWait implements Waitable {
  readonly isSleep = true;
  constructor(
    private readonly sched: Scheduler,
    private readonly spec: FlipSpec,
  ) {}
  ready(): boolean {
    const s = this.sched;
    return s.posOp > this.spec.op || (s.posOp === this.spec.op && s.posTick >= this.spec.tick);
  }
  describe(): string {
    return `fsx to reach op ${this.spec.op}, point ${this.spec.tick}`;
  }
}

/** Follows each flip's recorded choices; with none left, the flipper runs (its flip is atomic but for locks). */
export class ScriptStrategy implements Strategy {
  readonly name = 'script';
  active: FlipSpec | null = null;
  private at = 0;
  /** Set when a recorded choice named a task that could not run. */
  diverged: string | null = null;

  constructor(
    private readonly fsx: Task,
    private readonly flippers: Task[],
  ) {}

  begin(spec: FlipSpec): void {
    this.active = spec;
    this.at = 0;
  }

  pick(runnable: Task[], n: number): Task {
    const spec = this.active;
    if (spec && this.at < spec.choices.length) {
      const c = spec.choices[this.at++];
      const want = c === 'f' ? this.fsx : this.flippers[Number(c)];
      for (let i = 0; i < n; i++) if (runnable[i] === want) return want;
      this.diverged ??= `flip at op ${spec.op} point ${spec.tick}: choice ${this.at} wants ${want ?? c}, which cannot run`;
    }
    for (let i = 0; i < n; i++) if (runnable[i] !== this.fsx) return runnable[i];
    return runnable[0];
  }
}

/** Replace the random flipper with the script's flips, at their anchors. */
export function installScript(k: Kernel, sched: Scheduler, engine: FsxEngine, fsx: Task, flipper: Task, script: Script): ScriptStrategy {
  const strategy = new ScriptStrategy(fsx, [flipper]);
  sched.strategy = strategy;
  sched.noSolo = true;
  sched.posTask = fsx;
  engine.onOpStart = (n) => sched.startOp(n);
  engine.setReplay(script.ops);
  const flips = [...script.flips].sort((a, b) => a.op - b.op || a.tick - b.tick);
  let next = 0;
  // a flip's recorded choices start where it was recorded from: when the flipper became runnable
  sched.onWake = (t) => {
    if (t === flipper && next < flips.length) strategy.begin(flips[next]);
  };
  sched.add(
    flipper,
    (function* () {
      for (; next < flips.length; next++) {
        yield new AnchorWait(sched, flips[next]);
        yield* flipOnce(k, flipper);
      }
    })(),
  );
  return strategy;
}

/** Records a generated run as a script: its ops (every one, not just the log's last 10000) and its flips. */
export class ScriptRecorder {
  readonly ops: ParsedOp[] = [];
  readonly flips: FlipSpec[] = [];
  private real = -1;
  private open: FlipSpec | null = null;
  private readonly index = new Map<Task, string>();

  constructor(
    sched: Scheduler,
    private readonly engine: FsxEngine,
    fsx: Task,
    flippers: Task[],
    private readonly limit = 200000,
  ) {
    this.index.set(fsx, 'f');
    flippers.forEach((t, i) => this.index.set(t, String(i)));
    sched.posTask = fsx;
    const prevStart = engine.onOpStart;
    engine.onOpStart = (n) => {
      sched.startOp(n);
      prevStart?.(n);
    };
    engine.onOpRun = (op) => {
      this.real = op;
    };
    sched.onWake = () => {
      this.open = { op: sched.posOp, tick: sched.posTick, choices: '' };
      this.flips.push(this.open);
    };
    sched.onChoice = (t) => {
      if (this.open) this.open.choices += this.index.get(t) ?? 'f';
    };
  }

  /** Call after each op: takes the op just logged. */
  afterOp(): void {
    const log = this.engine.log;
    if (this.ops.length >= this.limit) return;
    const e = log.last();
    if (e.flags & FL.SKIPPED) return;
    const real = this.real >= 0 && this.real !== e.op ? this.real : undefined;
    this.ops.push({ ...e, line: this.ops.length + 1, tc: this.engine.testcalls, real: real === OP.MAPREAD || real === OP.MAPWRITE ? undefined : real });
    this.real = -1;
  }

  /**
   * The flips with their anchors moved from fsx's op numbers (which count
   * skipped ops) to positions in the recorded op list (which has none).
   */
  anchoredFlips(): FlipSpec[] {
    const out: FlipSpec[] = [];
    for (const f of this.flips) {
      if (f.op === 0) {
        out.push(f);
        continue;
      }
      const i = this.ops.findIndex((o) => (o.tc ?? 0) >= f.op);
      if (i < 0) continue;
      out.push(this.ops[i].tc === f.op ? { ...f, op: i + 1 } : { op: i + 1, tick: 0, choices: f.choices });
    }
    return out;
  }

  /** The op in flight when the run stopped (it failed inside it) is part of the script too. */
  finish(): void {
    const log = this.engine.log;
    if (!log.count) return;
    const last = this.ops[this.ops.length - 1];
    if (last?.tc === this.engine.testcalls) return;
    this.afterOp();
  }
}
