import { FL, OP, OP_NAMES } from './ops.js';

/** fsx keeps the last LOGSIZE operations. */
export const LOGSIZE = 10000;

/** One entry as fsx keeps it: args are C ints. */
export interface LogEntry {
  op: number;
  nrArgs: number;
  args: [number, number, number, number];
  flags: number;
}

/** Slots a new log starts with: an explored program of a few ops makes thousands of logs, each run's own. */
const FIRST_SLOTS = 64;

/**
 * The ring of the last 10000 operations, in flat typed arrays so that
 * logging an operation allocates nothing (once the arrays have grown to
 * the ring's size: they start small and double until then).
 */
export class OpLog {
  private ops = new Int32Array(FIRST_SLOTS);
  private nargs = new Uint8Array(FIRST_SLOTS);
  private args = new Int32Array(FIRST_SLOTS * 4);
  private flags = new Uint8Array(FIRST_SLOTS);
  /** Next slot to fill. */
  ptr = 0;
  /** Operations logged in all. */
  count = 0;

  /** Room for slot p (the ring only wraps once the arrays hold LOGSIZE). */
  private grow(p: number): void {
    const n = Math.min(LOGSIZE, Math.max(p + 1, this.ops.length * 2));
    const more = <T extends Int32Array | Uint8Array>(a: T, per: number): T => {
      const b = new (a.constructor as new (n: number) => T)(n * per);
      b.set(a);
      return b;
    };
    this.ops = more(this.ops, 1);
    this.nargs = more(this.nargs, 1);
    this.args = more(this.args, 4);
    this.flags = more(this.flags, 1);
  }

  add(op: number, nr: number, a0: number, a1: number, a2: number, a3: number, flags: number): void {
    const p = this.ptr;
    if (p >= this.ops.length) this.grow(p);
    this.ops[p] = op;
    this.nargs[p] = nr;
    const b = p * 4;
    this.args[b] = a0;
    this.args[b + 1] = a1;
    this.args[b + 2] = a2;
    this.args[b + 3] = a3;
    this.flags[p] = flags;
    this.count++;
    this.ptr = p + 1 >= LOGSIZE ? 0 : p + 1;
  }

  /** The entry logged last. */
  last(): LogEntry {
    return this.entry(this.ptr === 0 ? LOGSIZE - 1 : this.ptr - 1);
  }

  /** The entry in a slot (a slot not filled yet reads as zeros, as in fsx's zeroed array). */
  entry(slot: number): LogEntry {
    const b = slot * 4;
    return {
      op: this.ops[slot] ?? 0,
      nrArgs: this.nargs[slot] ?? 0,
      args: [this.args[b] ?? 0, this.args[b + 1] ?? 0, this.args[b + 2] ?? 0, this.args[b + 3] ?? 0],
      flags: this.flags[slot] ?? 0,
    };
  }

  /** Slots in dump order (oldest first) with the number fsx prints for each. */
  *dumpOrder(): Generator<{ slot: number; opnum: number }> {
    let i = this.count < LOGSIZE ? 0 : this.ptr;
    const base = Math.floor(this.count / LOGSIZE) * LOGSIZE;
    for (let n = Math.min(this.count, LOGSIZE); n > 0; n--) {
      yield { slot: i, opnum: i + 1 + base };
      i = i + 1 === LOGSIZE ? 0 : i + 1;
    }
  }
}

const hex = (v: number): string => '0x' + (v >>> 0).toString(16);

/** The parts fsx prints for one entry of the LOG DUMP, and whether it overlaps badoff. */
export function describeEntry(e: LogEntry, badoff: number): { parts: string[]; overlap: boolean } {
  const [a0, a1, a2] = e.args;
  const parts: string[] = [];
  let overlap = badoff >= a0 && badoff < a0 + a1;
  if (e.flags & FL.SKIPPED) {
    parts.push('SKIPPED (no operation)');
    return { parts, overlap };
  }
  const range = `${hex(a0)} thru ${hex(a0 + a1 - 1)}\t(${hex(a1)} bytes)`;
  const dest = (): [string, boolean] => [` to ${hex(a2)} thru ${hex(a2 + a1 - 1)}`, badoff >= a2 && badoff < a2 + a1];
  const twoWay = (word: string, mark: string): void => {
    const [to, overlap2] = dest();
    parts.push(`${word} ${range}${to}`);
    if (overlap && overlap2) parts.push(`\t${mark}**${mark}`);
    else if (overlap) parts.push(`\t${mark}******`);
    else if (overlap2) parts.push(`\t******${mark}`);
  };
  switch (e.op) {
    case OP.MAPREAD:
      parts.push(`MAPREAD  ${range}`);
      if (overlap) parts.push('\t***RRRR***');
      break;
    case OP.MAPWRITE:
      parts.push(`MAPWRITE ${range}`);
      if (overlap) parts.push('\t******WWWW');
      break;
    case OP.READ:
    case OP.READ_DONTCACHE:
      parts.push(`READ     ${range}`);
      if (overlap) parts.push('\t***RRRR***');
      break;
    case OP.WRITE:
    case OP.WRITE_DONTCACHE:
    case OP.WRITE_ATOMIC:
      parts.push(`WRITE    ${range}`);
      if (a0 > a2) parts.push(' HOLE');
      else if (a0 + a1 > a2) parts.push(' EXTEND');
      overlap = (badoff >= a0 || badoff >= a2) && badoff < a0 + a1;
      if (overlap) parts.push('\t***WWWW');
      break;
    case OP.TRUNCATE: {
      const down = a1 < a2;
      parts.push(`TRUNCATE ${down ? 'DOWN' : 'UP'}\tfrom ${hex(a2)} to ${hex(a1)}`);
      overlap = down ? badoff >= a1 && badoff < a2 : badoff >= a2 && badoff < a1;
      if (overlap) parts.push('\t******WWWW');
      break;
    }
    case OP.FALLOCATE:
      parts.push(`FALLOC   ${hex(a0)} thru ${hex(a0 + a1)}\t(${hex(a1)} bytes) `);
      if (a0 + a1 <= a2) parts.push('INTERIOR');
      else if (e.flags & FL.KEEP_SIZE) parts.push('PAST_EOF');
      else parts.push('EXTENDING');
      if (overlap) parts.push('\t******FFFF');
      break;
    case OP.PUNCH_HOLE:
      parts.push(`PUNCH    ${range}`);
      if (overlap) parts.push('\t******PPPP');
      break;
    case OP.ZERO_RANGE:
      parts.push(`ZERO     ${range}`);
      if (overlap) parts.push('\t******ZZZZ');
      break;
    case OP.COLLAPSE_RANGE:
      parts.push(`COLLAPSE ${range}`);
      if (overlap) parts.push('\t******CCCC');
      break;
    case OP.INSERT_RANGE:
      parts.push(`INSERT ${range}`);
      if (overlap) parts.push('\t******IIII');
      break;
    case OP.EXCHANGE_RANGE:
      twoWay('XCHG', 'XXXX');
      break;
    case OP.CLONE_RANGE:
      twoWay('CLONE', 'JJJJ');
      break;
    case OP.DEDUPE_RANGE:
      twoWay('DEDUPE', 'BBBB');
      break;
    case OP.COPY_RANGE:
      twoWay('COPY', 'EEEE');
      break;
    case OP.FSYNC:
      parts.push('FSYNC');
      break;
    default:
      parts.push(`BOGUS LOG ENTRY (operation code = ${e.op})!`);
  }
  return { parts, overlap };
}

/** One line of a .fsxops file, without the newline. */
export function formatOpsLine(e: LogEntry, overlap: boolean): string {
  let s = e.flags & FL.SKIPPED ? 'skip ' : '';
  s += OP_NAMES[e.op] ?? '(null)';
  for (let j = 0; j < e.nrArgs; j++) s += ' ' + hex(e.args[j]);
  if (e.flags & FL.KEEP_SIZE) s += ' keep_size';
  if (e.flags & FL.CLOSE_OPEN) s += ' close_open';
  if (e.flags & FL.UNSHARE) s += ' unshare';
  if (overlap) s += ' *';
  return s;
}
