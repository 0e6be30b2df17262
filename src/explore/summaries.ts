import type { ChoicePoint } from './strategy.js';

/**
 * What explore's reduction keeps of the runs through each state it has
 * explored, for a later run cut there (reduction.ts, coverCut()): per task,
 * the objects its steps touched and the distinct sequences of its steps.
 */

/**
 * What every run through a state did from there on, for a later run that
 * reaches the same state and is cut there: per task, the objects its steps
 * read and wrote (`r[t]`, `w[t]`), and the tasks asked for at the start of a
 * block of steps that began before the state (`block`).
 */
export interface Summary {
  /** A number no other summary of the search has (what a sequence's hash takes of its tail). */
  id: number;
  r: number[];
  w: number[];
  block: number;
  /**
   * Per task, with two tasks: each distinct sequence of its steps' accesses
   * from the state on, as far as frontiers() goes, keeping only steps that
   * touch something new (one object per contents: Sequences); null
   * when there were too many (then `r` and `w` stand for them); none before
   * the first run through the state is noted.
   */
  seqs: (Set<Seq> | null | undefined)[];
  /** Per task: runs' sequences not yet worked out (materialize()); most states are never read, so most never are. */
  pending: (Pending[] | undefined)[];
}

/**
 * One object for each distinct sequence (summaries hold them by identity),
 * by a 64-bit hash of its contents and tail, in an open-addressed table of
 * the hash's two 32-bit lanes: like the state hash, two sequences that
 * collide are taken for one (among a million sequences, a chance near 1 in
 * 10^7).
 */
export class Sequences {
  private lanes = new Int32Array(2 * 1024);
  /** Per slot: 1 + the sequence's index in `list`, 0 when empty. */
  private slots = new Int32Array(1024);
  private readonly list: Seq[] = [];

  /** The sequence with hash (a, b), if there is one. */
  get(a: number, b: number): Seq | undefined {
    const mask = this.slots.length - 1;
    for (let i = a & mask; ; i = (i + 1) & mask) {
      const at = this.slots[i];
      if (at === 0) return undefined;
      if (this.lanes[2 * i] === a && this.lanes[2 * i + 1] === b) return this.list[at - 1];
    }
  }

  /** Keep `seq` as the sequence with hash (a, b) (there is none yet). */
  set(a: number, b: number, seq: Seq): void {
    if (2 * (this.list.length + 1) > this.slots.length) this.rehash(2 * this.slots.length);
    this.list.push(seq);
    this.place(a, b, this.list.length);
  }

  clear(): void {
    this.list.length = 0;
    this.slots.fill(0);
  }

  private place(a: number, b: number, at: number): void {
    const mask = this.slots.length - 1;
    let i = a & mask;
    while (this.slots[i] !== 0) i = (i + 1) & mask;
    this.slots[i] = at;
    this.lanes[2 * i] = a;
    this.lanes[2 * i + 1] = b;
  }

  private rehash(size: number): void {
    const { lanes, slots } = this;
    this.lanes = new Int32Array(2 * size);
    this.slots = new Int32Array(size);
    for (let i = 0; i < slots.length; i++) if (slots[i] !== 0) this.place(lanes[2 * i], lanes[2 * i + 1], slots[i]);
  }
}

/** seqKey()'s result: the two lanes of the hash. */
const seqHash = { a: 0, b: 0 };

/** The 64-bit hash (into seqHash) of a sequence's steps (`head`, SEQ_STRIDE numbers each) and its tail's summary: two multiply-xorshift lanes. */
function seqKey(head: readonly number[], tail: Summary | null): void {
  const len = head.length / SEQ_STRIDE;
  let a = Math.imul(0x811c9dc5 ^ len, 0x01000193);
  let b = Math.imul(0x2545f491 ^ len, 0x5bd1e995);
  for (let i = 0; i < head.length; i++) {
    const v = head[i];
    a = Math.imul(a ^ (a >>> 15) ^ v, 0x01000193);
    b = Math.imul(b ^ (b >>> 13) ^ v, 0x5bd1e995);
  }
  const t = tail === null ? -1 : tail.id;
  a = Math.imul(a ^ (a >>> 15) ^ t, 0x01000193);
  b = Math.imul(b ^ (b >>> 13) ^ t, 0x5bd1e995);
  seqHash.a = a ^ (a >>> 15);
  seqHash.b = b ^ (b >>> 13);
}

/**
 * A sequence of one task's steps (their accesses and lazy locks), and,
 * when the run it came from was cut at a state explored before, that
 * state, whose sequences go on from it.
 */
export interface Seq {
  /** Per step (SEQ_STRIDE numbers): reads, writes, and its lazy locks as lockedRace() takes them (held for read and for write when it began, taken for read and for write, what it accessed before taking them). */
  head: number[];
  tail: Summary | null;
}

/** How many numbers a step takes in a sequence (Seq.head). */
export const SEQ_STRIDE = 7;

/** Sequences kept per state and task before its union stands in for them. */
export const MAX_SEQS = 16;

/**
 * frontiers()'s buffers, kept from call to call (explore runs one analysis
 * at a time, and noteFrontiers() reads a result before the next call):
 * one task's steps, the kept steps of two points, and the result's arrays.
 */
const scratch = {
  mine: new Int32Array(0),
  // a kept step touches an object the kept steps before it did not read or write, or did not write: 64 at most
  bufs: [new Int32Array(64), new Int32Array(64)],
  r: new Int32Array(0),
  w: new Int32Array(0),
  seqs: [] as (Pending | null | undefined)[],
};

function sameSteps(a: Int32Array, an: number, b: Int32Array, bn: number): boolean {
  if (an !== bn) return false;
  for (let i = 0; i < an; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * For each of the first choice points of a run, one per summary in `sums`
 * (the summaries of their states), and each task p: what p's steps (their
 * reads, and their `writes` within `mask`) from that point on read and wrote, as far as a step of
 * the run before the point can race with them. A step of p that another
 * task's step after the point happens before (with two tasks) comes after
 * every earlier step of that task too, so no step before the point races
 * with it, nor with any later step of p: the summary stops there (and takes
 * in the covered state's summary only when the run reached its cut without
 * stopping). With more tasks it is every step from the point on.
 * The objects are summed at once; each sequence is noted as a Pending on
 * this run's record `rec` (null: none), worked out only if a walk reads the
 * summary (materialize(): 627 of 30115 summaries are ever read, exploring
 * the bench's first program). No sequence is noted for a summary that keeps
 * none of p's any more (MAX_SEQS).
 */
export function frontiers(T: number, n: number, task: readonly number[], reads: readonly number[], writes: Int32Array, mask: number, rec: RunRec | null, vc: Int32Array, points: readonly ChoicePoint[], sums: readonly Summary[], cut: Summary | undefined, same: { above: number; fresh: number } | null = null): Frontier {
  const upto = sums.length;
  if (scratch.r.length < upto * T) {
    scratch.r = new Int32Array(2 * upto * T);
    scratch.w = new Int32Array(2 * upto * T);
  }
  const { r, w, seqs } = scratch;
  seqs.length = upto * T;
  if (T !== 2) {
    seqs.fill(null);
    // every step from the point on
    const sufR = new Int32Array(T);
    const sufW = new Int32Array(T);
    let j = n;
    for (let k = upto - 1; k >= 0; k--) {
      for (const s = points[k].step; j > s; ) {
        j--;
        sufR[task[j]] |= reads[j];
        sufW[task[j]] |= writes[j] & mask;
      }
      for (let p = 0; p < T; p++) {
        r[k * T + p] = sufR[p] | (cut?.r[p] ?? 0);
        w[k * T + p] = sufW[p] | (cut?.w[p] ?? 0);
      }
    }
    return { r, w, seqs };
  }
  if (scratch.mine.length < n) scratch.mine = new Int32Array(2 * n);
  const { mine, bufs } = scratch;
  for (let p = 0; p < 2; p++) {
    const q = 1 - p;
    // p's steps: mine[0..m)
    let m = 0;
    for (let j = 0; j < n; j++) if (task[j] === p) mine[m++] = j;
    // from the last point back: [from, end) are p's steps in the frontier (q's clock on p's steps only grows,
    // so both ends move left); the kept steps of the point after, by index into `mine`, are reused
    let from = m;
    let end = m;
    let kept = bufs[0];
    let keptN = 0;
    let keptTo = m;
    // the sequence of the point after: the same steps kept make the same sequence (one object)
    let last: Pending | null = null;
    // p's first step that the run before did not have (same.fresh on)
    let firstFresh = m;
    if (same) while (firstFresh > 0 && mine[firstFresh - 1] >= same.fresh) firstFresh--;
    for (let k = upto - 1; k >= 0; k--) {
      const s = points[k].step;
      while (end > 0 && vc[mine[end - 1] * 2 + q] >= s) end--;
      if (same && k < same.above && end < firstFresh) {
        // from here up, p's frontiers end at a step before those this run changed (its clock is the run before's): the run before's, noted already
        for (; k >= 0; k--) seqs[k * T + p] = undefined;
        break;
      }
      const oldFrom = from;
      while (from > 0 && mine[from - 1] >= s) from--;
      const next = kept === bufs[0] ? bufs[1] : bufs[0];
      let nextN = 0;
      let rr = 0;
      let ww = 0;
      const stop = Math.min(oldFrom, end);
      const fromKept = oldFrom < end ? keptN : 0;
      for (let y = from - stop; y < fromKept; y++) {
        // first p's steps from the point up to where the point after began, then that point's kept steps
        const x = y < 0 ? stop + y : kept[y];
        if (y >= 0 && (x >= end || x >= keptTo)) continue;
        const j = mine[x];
        const a = reads[j];
        const b = writes[j] & mask;
        // a step touching nothing new conflicts with nothing the steps before it did not: it races with nothing
        if (b & ~ww || a & ~(rr | ww)) next[nextN++] = x;
        rr |= a;
        ww |= b;
      }
      const tail = end === m && cut ? cut.seqs[p] : undefined;
      const tailRef = tail?.size ? cut! : null;
      let out: Pending | null;
      // (a summary whose union stands for p's sequences already takes none: null, as when the tail has too many)
      if (tail === null || sums[k].seqs[p] === null || rec === null) out = null;
      else if (last && last.tail === tailRef && sameSteps(next, nextN, kept, keptN)) out = last;
      else out = { rec, p, s, end: end < m ? mine[end] : n, tail: tailRef, seq: null };
      if (end === m && cut) {
        rr |= cut.r[p] ?? 0;
        ww |= cut.w[p] ?? 0;
      }
      kept = next;
      keptN = nextN;
      keptTo = end;
      last = out;
      r[k * T + p] = rr;
      w[k * T + p] = ww;
      seqs[k * T + p] = out;
    }
  }
  return { r, w, seqs };
}

/**
 * frontiers()'s result, per choice point k and task p at k * T + p: the
 * objects read and written, and the sequence (null: too many to keep;
 * undefined: the same as the run before's, which is noted already). Its
 * arrays are frontiers()'s buffers: good until its next call.
 */
export interface Frontier {
  r: Int32Array;
  w: Int32Array;
  seqs: (Pending | null | undefined)[];
}

/**
 * What one run's analysis keeps of its steps, for the sequences worked out
 * when a state is read (materialize()): per step from `base` on, its task
 * and its entry in a sequence (SEQ_STRIDE numbers: reads, writes, lazy
 * locks). Its steps before `base` are the same as the run before's (a run
 * replays the run before's steps up to its branch point): they are the
 * record `up`'s, the latest record from before whose own steps begin below
 * `base` (each record between began at or after it, so shared them all).
 */
export interface RunRec {
  base: number;
  n: number;
  up: RunRec | null;
  task: Int8Array;
  vals: Int32Array;
}

/** The record of a run of n steps whose first `base` are the run before's (`prev`, null: none, then it keeps them all). */
export function runRec(prev: RunRec | null, base: number, n: number, task: readonly number[], reads: readonly number[], writes: Int32Array, mask: number, lockInfo: (j: number, out: Int32Array, at: number) => void): RunRec {
  if (prev === null) base = 0;
  let up = prev;
  while (up !== null && up.base >= base) up = up.up;
  const own = Math.max(0, n - base);
  const rec: RunRec = { base, n, up, task: new Int8Array(own), vals: new Int32Array(own * SEQ_STRIDE) };
  for (let j = base; j < n; j++) {
    const o = (j - base) * SEQ_STRIDE;
    rec.task[j - base] = task[j];
    rec.vals[o] = reads[j];
    rec.vals[o + 1] = writes[j] & mask;
    lockInfo(j, rec.vals, o + 2);
  }
  return rec;
}

/**
 * A run's sequence of task p's steps from a choice point on, not yet worked
 * out: p's steps of the run `rec` from step `s` to before step `end`, kept
 * when they touch something the kept steps before them did not, and the
 * covered state's summary the run was cut at, when the steps reached it
 * with sequences there (`tail`). One object may stand for several points
 * whose steps kept are the same; `seq` is the sequence once worked out.
 */
export interface Pending {
  rec: RunRec;
  p: number;
  s: number;
  end: number;
  tail: Summary | null;
  seq: Seq | null;
}

/** Work out a pending sequence: the steps it keeps, interned (one object per contents and tail). */
function build(e: Pending, interned: Sequences): Seq {
  // the records whose steps make [s, end), newest first
  const segs: RunRec[] = [];
  for (let x: RunRec | null = e.rec; x !== null; x = x.up) {
    segs.push(x);
    if (x.base <= e.s) break;
  }
  // (the first record of a search keeps every step of its run, so the chain always reaches s)
  if (segs[segs.length - 1].base > e.s) throw new Error(`explore: no record of step ${e.s} of a run`);
  const head: number[] = [];
  let rr = 0;
  let ww = 0;
  for (let i = segs.length - 1; i >= 0; i--) {
    const x = segs[i];
    const hi = Math.min(e.end, i === 0 ? x.n : segs[i - 1].base);
    for (let j = Math.max(e.s, x.base); j < hi; j++) {
      if (x.task[j - x.base] !== e.p) continue;
      const o = (j - x.base) * SEQ_STRIDE;
      const a = x.vals[o];
      const b = x.vals[o + 1];
      // a step touching nothing new conflicts with nothing the steps before it did not: it races with nothing
      if (b & ~ww || a & ~(rr | ww)) for (let f = 0; f < SEQ_STRIDE; f++) head.push(x.vals[o + f]);
      rr |= a;
      ww |= b;
    }
  }
  seqKey(head, e.tail);
  let out = interned.get(seqHash.a, seqHash.b);
  if (!out) {
    out = { head, tail: e.tail };
    interned.set(seqHash.a, seqHash.b, out);
  }
  return out;
}

/**
 * Work out the sequences of task p noted at summary `s` and not yet worked
 * out, in the order they were noted (before a walk of the summary reads
 * them): the same sequences, in the same order, as working each out when
 * its run was analysed.
 */
export function materialize(s: Summary, p: number, interned: Sequences): void {
  const list = s.pending[p];
  if (list === undefined) return;
  s.pending[p] = undefined;
  for (const e of list) {
    let have = s.seqs[p];
    if (have === null) return;
    const seq = (e.seq ??= build(e, interned));
    if (have === undefined) have = s.seqs[p] = new Set();
    have.add(seq);
    if (have.size > MAX_SEQS) s.seqs[p] = null;
  }
}

/** How many summaries were made (their ids). */
let summaries = 0;

/** An empty summary, for T tasks. */
export function newSummary(T: number): Summary {
  return { id: ++summaries, r: new Array<number>(T).fill(0), w: new Array<number>(T).fill(0), block: 0, seqs: new Array<Set<Seq> | null | undefined>(T).fill(undefined), pending: new Array<Pending[] | undefined>(T).fill(undefined) };
}

/**
 * Add what one run did from each of its first choice points (frontiers())
 * to the summary of that point's state (`sums[k]`), and
 * the tasks its races asked for at the start of a block of steps that
 * began above that point: `marks[q]` is a difference array over the points
 * for task q (a positive running sum: inside such a block).
 */
export function noteFrontiers(sums: readonly Summary[], T: number, frontier: Frontier, marks: Int32Array[]): void {
  const upto = sums.length;
  const running = new Int32Array(T);
  for (let k = 0; k < upto; k++) {
    const s = sums[k];
    for (let q = 0; q < T; q++) {
      const add = frontier.seqs[k * T + q];
      if (add === undefined) continue;
      s.r[q] = (s.r[q] ?? 0) | frontier.r[k * T + q];
      s.w[q] = (s.w[q] ?? 0) | frontier.w[k * T + q];
      if (s.seqs[q] === null) continue;
      if (add === null) {
        s.seqs[q] = null;
        s.pending[q] = undefined;
        continue;
      }
      // worked out when the summary is read (materialize())
      const list = s.pending[q];
      if (list === undefined) s.pending[q] = [add];
      else list.push(add);
    }
    for (let q = 0; q < T; q++) {
      running[q] += marks[q]?.[k] ?? 0;
      if (running[q] > 0) s.block |= 1 << q;
    }
  }
}
