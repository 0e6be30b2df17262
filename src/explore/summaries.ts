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

  get size(): number {
    return this.list.length;
  }

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

/** The 64-bit hash (into seqHash) of the sequence of the steps `next` (indices into `mine`; their entries in `vals` at entry()) and its tail's summary: two multiply-xorshift lanes. */
function seqKey(next: Int32Array, len: number, mine: Int32Array, entry: (j: number) => number, vals: Int32Array, tail: Summary | null): void {
  let a = Math.imul(0x811c9dc5 ^ len, 0x01000193);
  let b = Math.imul(0x2545f491 ^ len, 0x5bd1e995);
  for (let i = 0; i < len; i++) {
    const at = entry(mine[next[i]]);
    for (let f = 0; f < SEQ_STRIDE; f++) {
      const v = vals[at + f];
      a = Math.imul(a ^ (a >>> 15) ^ v, 0x01000193);
      b = Math.imul(b ^ (b >>> 13) ^ v, 0x5bd1e995);
    }
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
 * each step's entry and the stamp of the call that made it, one task's
 * steps, the kept steps of two points, and the result's arrays.
 */
const scratch = {
  vals: new Int32Array(0),
  made: new Uint32Array(0),
  stamp: 0,
  mine: new Int32Array(0),
  // a kept step touches an object the kept steps before it did not read or write, or did not write: 64 at most
  bufs: [new Int32Array(64), new Int32Array(64)],
  r: new Int32Array(0),
  w: new Int32Array(0),
  seqs: [] as (Seq | null | undefined)[],
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
 * No sequence is made for a summary that keeps none of p's any more
 * (MAX_SEQS).
 */
export function frontiers(T: number, n: number, task: readonly number[], reads: readonly number[], writes: Int32Array, mask: number, lockInfo: (j: number, out: Int32Array, at: number) => void, vc: Int32Array, points: readonly ChoicePoint[], sums: readonly Summary[], cut: Summary | undefined, interned: Sequences, same: { above: number; fresh: number } | null = null): Frontier {
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
  // each step's entry in a sequence (SEQ_STRIDE numbers), made when first kept (in buffers kept from run to run)
  if (scratch.made.length < n) {
    scratch.vals = new Int32Array(2 * n * SEQ_STRIDE);
    scratch.made = new Uint32Array(2 * n);
  }
  if (scratch.mine.length < n) scratch.mine = new Int32Array(2 * n);
  const { vals, made, mine, bufs } = scratch;
  const stamp = ++scratch.stamp;
  const entry = (j: number): number => {
    if (made[j] !== stamp) {
      made[j] = stamp;
      vals[j * SEQ_STRIDE] = reads[j];
      vals[j * SEQ_STRIDE + 1] = writes[j] & mask;
      lockInfo(j, vals, j * SEQ_STRIDE + 2);
    }
    return j * SEQ_STRIDE;
  };
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
    let last: Seq | null = null;
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
      let out: Seq | null;
      // (a summary whose union stands for p's sequences already takes none: null, as when the tail has too many)
      if (tail === null || sums[k].seqs[p] === null) out = null;
      else if (last && last.tail === tailRef && sameSteps(next, nextN, kept, keptN)) out = last;
      else {
        seqKey(next, nextN, mine, entry, vals, tailRef);
        out = interned.get(seqHash.a, seqHash.b) ?? null;
        if (!out) {
          const head = new Array<number>(nextN * SEQ_STRIDE);
          for (let i = 0; i < nextN; i++) {
            const at = entry(mine[next[i]]);
            for (let f = 0; f < SEQ_STRIDE; f++) head[i * SEQ_STRIDE + f] = vals[at + f];
          }
          out = { head, tail: tailRef };
          interned.set(seqHash.a, seqHash.b, out);
        }
      }
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
  seqs: (Seq | null | undefined)[];
}

/** How many summaries were made (their ids). */
let summaries = 0;

/** An empty summary, for T tasks. */
export function newSummary(T: number): Summary {
  return { id: ++summaries, r: new Array<number>(T).fill(0), w: new Array<number>(T).fill(0), block: 0, seqs: new Array<Set<Seq> | null | undefined>(T).fill(undefined) };
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
      let have = s.seqs[q];
      if (have === null) continue;
      if (have === undefined) have = s.seqs[q] = new Set();
      if (add === null) {
        s.seqs[q] = null;
        continue;
      }
      have.add(add);
      if (have.size > MAX_SEQS) s.seqs[q] = null;
    }
    for (let q = 0; q < T; q++) {
      running[q] += marks[q]?.[k] ?? 0;
      if (running[q] > 0) s.block |= 1 << q;
    }
  }
}
