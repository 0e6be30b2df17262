import type { RunConfig } from '../core/config.js';
import { signature as signatureOf } from '../core/outcome.js';
import { Turns } from '../util/turns.js';
import type { ParsedOp } from '../fsx/fsxops.js';
import { opArgsCount } from '../fsx/ops.js';
import { runScript, type Ran, type Script } from '../core/scripted.js';
import type { FlipSpec } from '../sched/schedule.js';
import { ddmin } from './ddmin.js';

/** What a run is made of, before and after shrinking. */
export interface ShrinkStats {
  ops: number;
  flips: number;
  steps: number;
}

export interface ShrinkResult {
  script: Script;
  /** The minimal run, traced (for the explanation and the timeline). */
  ran: Ran;
  before: ShrinkStats;
  after: ShrinkStats;
  candidates: number;
  seconds: number;
  /** Ended by `stop` (a signal): the run is the smallest found so far, not a fixed point. */
  stopped: boolean;
  /** The work the candidate runs did (RUN_WORK per run and its model steps), in all. */
  work: number;
  /** Which budget ended the shrink before its fixed point (the run is the smallest found by then), or null. */
  cut: 'work' | 'time' | null;
}

/**
 * What a candidate run's set-up (a machine, fsx's engine, the good buffer)
 * counts for, in model steps: about its time here (3.4 ms for a run against
 * 0.9-1.5 us a step).
 */
export const RUN_WORK = 3000;

/** The default work budget: about a minute here on a shrink that runs to it (16000 candidate runs of 128 steps). */
export const SHRINK_WORK = 50_000_000;

export interface ShrinkOptions {
  /**
   * Stop once the candidate runs have done this much work in all: RUN_WORK
   * for each run and its model steps (SHRINK_WORK by default). A count, not
   * a time: a shrink cut short by it gives the same run on any machine.
   */
  work?: number;
  /** Stop after this long as well (none by default): a shrink cut short by it depends on the machine's speed. */
  budgetMs?: number;
  /** Asked before each candidate run: true ends the shrink there. */
  stop?: () => boolean;
}

/**
 * Keep some ops: flip anchors are renumbered, and a flip that came in
 * during a removed op comes in at the start of the next kept one instead.
 */
function keepOps(s: Script, keep: boolean[]): Script {
  const newIndex: number[] = [0];
  let n = 0;
  s.ops.forEach((_, i) => {
    if (keep[i]) n++;
    newIndex[i + 1] = keep[i] ? n : -1;
  });
  const ops = s.ops.filter((_, i) => keep[i]).map((o, i) => ({ ...o, line: i + 1 }));
  const flips: FlipSpec[] = [];
  for (const f of s.flips) {
    if (f.op === 0 || newIndex[f.op] > 0) {
      flips.push({ ...f, op: f.op === 0 ? 0 : newIndex[f.op] });
      continue;
    }
    let next = f.op + 1;
    while (next <= s.ops.length && newIndex[next] < 0) next++;
    if (next <= s.ops.length) flips.push({ op: newIndex[next], tick: 0, choices: f.choices });
  }
  return { ...s, ops, flips };
}

/**
 * Delta debugging of a failing scripted run (fast-check's idea, Zeller's
 * ddmin): try smaller runs — fewer ops, fewer flips, smaller ranges, fewer
 * scheduling choices — keep any that fails with the same signature, and go
 * round again until nothing smaller fails. Every candidate is a real run.
 * It gives the event loop a turn now and then, so that a signal's handler
 * runs; when `stop` says so it ends before its next candidate, with the
 * smallest failing run found so far (`stopped`); so it does when its work budget
 * (or a time budget, if given) runs out (`cut`).
 */
export async function shrink(config: RunConfig, start: Script, signature: string, opts: ShrinkOptions = {}): Promise<ShrinkResult> {
  const budgetMs = opts.budgetMs ?? Infinity;
  const maxWork = opts.work ?? SHRINK_WORK;
  const t0 = performance.now();
  let candidates = 0;
  let work = 0;
  let stopped = false;
  let cut: ShrinkResult['cut'] = null;
  const halted = (): boolean => stopped || (stopped = opts.stop?.() ?? false);
  const turns = new Turns();
  const run = (s: Script): { sig: string; ops: number; steps: number; ticksIn: (op: number) => number } => {
    candidates++;
    const r = runScript(config, s);
    work += RUN_WORK + r.steps;
    const position = r.run.position;
    return { sig: signatureOf(r.outcome), ops: r.ops, steps: r.steps, ticksIn: (op) => position.ticksIn(op) };
  };
  const timeUp = (): boolean => {
    if (halted() || cut) return true;
    if (work >= maxWork) cut = 'work';
    else if (performance.now() - t0 > budgetMs) cut = 'time';
    return cut !== null;
  };
  // once stopped or out of budget, a candidate is not run: it counts as not failing, and the loops below end
  const probe = async (s: Script): Promise<{ fails: boolean; ticksIn: (op: number) => number }> => {
    await turns.maybe();
    if (timeUp()) return { fails: false, ticksIn: () => 0 };
    const r = run(s);
    return { fails: r.sig === signature, ticksIn: r.ticksIn };
  };
  const fails = async (s: Script): Promise<boolean> => (await probe(s)).fails;

  const first = run(start);
  if (first.sig !== signature) {
    throw new Error(`the script does not reproduce '${signature}' (it gives '${first.sig || 'no failure'}')`);
  }
  const before: ShrinkStats = { ops: start.ops.length, flips: start.flips.length, steps: first.steps };
  let cur = start;

  // ops after the one that failed can never matter
  if (first.ops < cur.ops.length) {
    const cut = keepOps(cur, cur.ops.map((_, i) => i < first.ops));
    if (await fails(cut)) cur = cut;
  }

  let changed = true;
  while (changed && !timeUp()) {
    changed = false;

    // fewer flips, then fewer ops: the one delta-debugging routine for both
    const flips = await ddmin(cur.flips, (keep) => fails({ ...cur, flips: cur.flips.filter((_, j) => keep[j]) }), timeUp);
    if (flips.removed) {
      cur = { ...cur, flips: cur.flips.filter((_, j) => flips.keep[j]) };
      changed = true;
    }
    const ops = await ddmin(cur.ops, (keep) => fails(keepOps(cur, keep)), timeUp);
    if (ops.removed) {
      cur = keepOps(cur, ops.keep);
      changed = true;
    }

    // 3. fewer scheduling choices: the flipper runs whenever it can
    for (let i = 0; i < cur.flips.length && !timeUp(); i++) {
      const f = cur.flips[i];
      for (const shorter of ['', f.choices.slice(0, Math.floor(f.choices.length / 2)), f.choices.slice(0, -1)]) {
        if (shorter.length >= f.choices.length) continue;
        const cand = withFlip(cur, i, { ...f, choices: shorter });
        if (await fails(cand)) {
          cur = cand;
          changed = true;
          break;
        }
      }
    }

    // 4. smaller ranges; a flip anchored inside the op looks for its new place
    for (let i = 0; i < cur.ops.length && !timeUp(); i++) {
      for (const smaller of smallerOps(cur.ops[i])) {
        const cand = withOp(cur, i, smaller);
        const found = (await fails(cand)) ? cand : await reanchor(cand, i + 1, probe, timeUp);
        if (found) {
          cur = found;
          changed = true;
          break;
        }
      }
    }

    // 5. earlier anchors (fewer scheduling points before the flip)
    for (let i = 0; i < cur.flips.length && !timeUp(); i++) {
      const f = cur.flips[i];
      for (const tick of [0, Math.floor(f.tick / 2), f.tick - 1]) {
        if (tick >= f.tick || tick < 0) continue;
        const cand = withFlip(cur, i, { ...f, tick });
        if (await fails(cand)) {
          cur = cand;
          changed = true;
          break;
        }
      }
    }
  }

  const final = runScript(config, cur, true);
  return {
    script: cur,
    ran: final,
    before,
    after: { ops: cur.ops.length, flips: cur.flips.length, steps: final.steps },
    candidates,
    seconds: (performance.now() - t0) / 1000,
    stopped,
    work,
    cut: stopped ? null : cut,
  };
}

function withFlip(s: Script, i: number, f: FlipSpec): Script {
  return { ...s, flips: s.flips.map((x, j) => (j === i ? f : x)) };
}

function withOp(s: Script, i: number, o: ParsedOp): Script {
  return { ...s, ops: s.ops.map((x, j) => (j === i ? o : x)) };
}

/** Smaller versions of one op: half the size, offsets at zero. */
function smallerOps(o: ParsedOp): ParsedOp[] {
  const out: ParsedOp[] = [];
  const [off, size, a2, a3] = o.args;
  const four = opArgsCount(o.op) === 4;
  const mk = (offset: number, sz: number, off2 = a2): ParsedOp => ({ ...o, args: [offset, sz, four ? off2 : a2, a3] });
  if (size > 1) {
    out.push(mk(off, Math.max(1, Math.floor(size / 2))));
    if (size > 4096) out.push(mk(off, 4096));
    if (size > 1) out.push(mk(off, 1));
  }
  if (off > 0) {
    out.push(mk(0, size));
    if (off % 4096) out.push(mk(off - (off % 4096), size));
  }
  if (four && a2 > 0) out.push(mk(off, size, a2 - (a2 % 4096)));
  return out.filter((x) => x.args[0] !== off || x.args[1] !== size || x.args[2] !== a2);
}

/** The ticks a flip is tried at in an op it is anchored in: 0 to this, at most. */
const LAST_TICK = 399;

/**
 * After an op changed, try the last flip anchored in it at each of its
 * preemption points, from the first, until the run fails. The run with the
 * flip at the last tick goes first: until the flip comes in, a run is the
 * same whatever tick it waits for, so that run says how many ticks of the
 * op differ (FsxPosition.ticksIn()); every later tick is that run again, and
 * is not run (the same result as trying each one, in fewer runs).
 */
async function reanchor(s: Script, op: number, probe: (s: Script) => Promise<{ fails: boolean; ticksIn: (op: number) => number }>, timeUp: () => boolean): Promise<Script | null> {
  const idx = s.flips.map((f, i) => (f.op === op ? i : -1)).filter((i) => i >= 0);
  if (!idx.length) return null;
  const i = idx[idx.length - 1];
  const at = (tick: number): Script => withFlip(s, i, { op, tick, choices: '' });
  const last = await probe(at(LAST_TICK));
  if (timeUp()) return null;
  const distinct = Math.min(last.ticksIn(op), LAST_TICK);
  for (let tick = 0; tick < distinct && !timeUp(); tick++) {
    const cand = at(tick);
    if ((await probe(cand)).fails) return cand;
  }
  return last.fails && !timeUp() ? at(distinct) : null;
}
