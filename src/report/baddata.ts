import { LOGSIZE, type LogEntry, type OpLog } from '../fsx/oplog.js';
import { FL, OP, OP_NAMES } from '../fsx/ops.js';
import type { DataHow, TraceEvent } from '../kernel/trace.js';

/** What fsx's failed READ BAD DATA check compared, and where it differed. */
export interface BadRange {
  offset: number;
  size: number;
  first: number;
  last: number;
  count: number;
}

export interface BadDataInput {
  /** The run's trace events in order, with the 'op' events that mark where each fsx op begins. */
  events: readonly TraceEvent[];
  fsxPid: number;
  /** fsx's op log: which op last wrote the bad bytes. */
  log: OpLog;
  /** The op in flight when the check failed. */
  testcalls: number;
  bad: BadRange;
}

const hx = (v: number): string => '0x' + (v >>> 0).toString(16);

/** Functions whose IS_DAX() test decides how write-back and invalidation treat the cache, not where an op's bytes go. */
const CACHE_UPKEEP = new Set(['filemap_write_and_wait_range', 'invalidate_inode_pages2']);

const WRITES: ReadonlySet<string> = new Set<DataHow>(['write-cache', 'write-dax', 'write-direct', 'zero-cache', 'zero-dax', 'store-cache', 'store-dax']);
const READS: ReadonlySet<string> = new Set<DataHow>(['read-cache', 'read-dax', 'read-direct', 'load-cache', 'load-dax', 'load-zero']);

/** Where a data event's bytes went or came from: the page cache, media, or the zero page. */
function place(how: string): 'cache' | 'media' | 'zero' {
  if (how.endsWith('-cache')) return 'cache';
  if (how === 'load-zero') return 'zero';
  return 'media';
}

/** What op log entry e did to the byte now at x: wrote it (bytes or zeros), moved it there from `from`, or nothing. */
type Effect = { kind: 'wrote' } | { kind: 'moved'; from: number } | null;

function effect(e: LogEntry, x: number): Effect {
  if (e.flags & FL.SKIPPED) return null;
  const [a0, a1, a2, a3] = e.args;
  const inside = (lo: number, hi: number): boolean => x >= lo && x < hi;
  const WROTE: Effect = { kind: 'wrote' };
  switch (e.op) {
    case OP.WRITE:
    case OP.WRITE_DONTCACHE:
    case OP.WRITE_ATOMIC:
    case OP.MAPWRITE:
      // a write past EOF also zeroes the gap from the old size
      return inside(a0, a0 + a1) || inside(a2, a0) ? WROTE : null;
    case OP.TRUNCATE:
      // up: zeros from the old size; down: the bytes past the new size are gone
      return (a1 > a2 ? inside(a2, a1) : x >= a1) ? WROTE : null;
    case OP.FALLOCATE:
      return !(e.flags & FL.KEEP_SIZE) && inside(a2, a0 + a1) ? WROTE : null;
    case OP.PUNCH_HOLE:
      return inside(a0, Math.min(a0 + a1, a2)) ? WROTE : null;
    case OP.ZERO_RANGE:
      return inside(a0, a0 + a1) || (!(e.flags & FL.KEEP_SIZE) && inside(a2, a0)) ? WROTE : null;
    case OP.COLLAPSE_RANGE:
      return x >= a0 ? { kind: 'moved', from: x + a1 } : null;
    case OP.INSERT_RANGE:
      return inside(a0, a0 + a1) ? WROTE : x >= a0 + a1 ? { kind: 'moved', from: x - a1 } : null;
    case OP.CLONE_RANGE:
    case OP.COPY_RANGE:
      return inside(a2, a2 + a1) ? { kind: 'moved', from: a0 + (x - a2) } : inside(a3, a2) ? WROTE : null;
    case OP.EXCHANGE_RANGE:
      return inside(a0, a0 + a1) ? { kind: 'moved', from: a2 + (x - a0) } : inside(a2, a2 + a1) ? { kind: 'moved', from: a0 + (x - a2) } : null;
    default:
      return null;
  }
}

/** An op as fsx's -d lines show it: name and range. */
export function opWords(e: LogEntry): string {
  const [a0, a1, a2] = e.args;
  const name = OP_NAMES[e.op] ?? `op ${e.op}`;
  if (e.op === OP.TRUNCATE) return `${name} from ${hx(a2)} to ${hx(a1)}`;
  if (e.op === OP.FSYNC) return name;
  const range = `${hx(a0)} thru ${hx(a0 + a1 - 1)}`;
  return e.nrArgs === 4 ? `${name} ${range} to ${hx(a2)}` : `${name} ${range}`;
}

interface OpWindow {
  tc: number;
  /** The op's entry in fsx's op log. */
  idx: number;
  /** Positions in the event list: [from, to). */
  from: number;
  to: number;
}

const isDaxValue = (e: TraceEvent): boolean | undefined => (e.values && typeof e.values[0] === 'boolean' ? e.values[0] : /read (true|false)/.exec(e.text)?.[1] === 'true');
const isDaxFn = (e: TraceEvent): string => (e.values && typeof e.values[1] === 'string' ? e.values[1] : e.text.replace(/^.* in /, ''));
const who = (e: TraceEvent): string => `${e.comm}:${e.pid}`;

/** An op that moved the bad bytes on media (collapse, insert, copy, clone, exchange): from where to where. */
interface Move {
  idx: number;
  tc: number;
  entry: LogEntry;
  from: number;
  to: number;
}

/** The explanation, and where its story starts in the trace (the writer's first event), for a picture of it. */
export interface BadDataStory {
  lines: string[];
  fromSeq?: number;
}

const MAX_MOVES = 8;
const MAX_FLIPS = 4;

/**
 * READ BAD DATA in plain words, from the trace: which op last wrote the bytes
 * that read back wrong (fsx's log knows the op, not just its number mod
 * 256; ops that only moved them on media are followed back), the IS_DAX()
 * test it acted on and where its bytes went, the flag changes between it
 * and the read, write-back that skipped its pages, and the path the read
 * took. Empty when there is nothing to say (no READ BAD DATA).
 */
export function explainBadData(inp: BadDataInput): BadDataStory {
  const { events, fsxPid, log, testcalls, bad } = inp;
  if (!log.count || bad.first < 0) return { lines: [] };
  const x = bad.first;

  // the ops' windows in the event list
  // (events kept from different stretches of the run have a gap in their numbers: a window ends there too)
  const windows: OpWindow[] = [];
  let open: OpWindow | null = null;
  events.forEach((e, i) => {
    const prev = events[i - 1];
    if (open && prev && e.seq !== undefined && prev.seq !== undefined && e.seq !== prev.seq + 1) {
      open.to = i;
      open = null;
    }
    if (e.kind !== 'op' || e.pid !== fsxPid) return;
    if (open) open.to = i;
    open = { tc: Number(e.values?.[0] ?? /op (\d+)/.exec(e.text)?.[1]), idx: Number(e.values?.[1] ?? -1), from: i, to: events.length };
    windows.push(open);
  });
  const tcOfIndex = new Map<number, number>();
  for (const e of events) if (e.kind === 'op' && e.pid === fsxPid && e.values) tcOfIndex.set(Number(e.values[1]), Number(e.values[0]));
  const windowOf = (tc: number): OpWindow | undefined => windows.find((w) => w.tc === tc);
  /** Where op tc's events end: the first op after it begins (the whole list if none). */
  const endOf = (tc: number): number => windows.find((w) => w.tc > tc)?.from ?? events.length;

  // the failing read: the op in flight, or the whole-file check after it
  const failIdx = log.count - 1;
  const failEntry = log.last();
  const ownRead =
    (failEntry.op === OP.READ || failEntry.op === OP.READ_DONTCACHE || failEntry.op === OP.MAPREAD) &&
    !(failEntry.flags & FL.SKIPPED) &&
    failEntry.args[0] === bad.offset &&
    failEntry.args[1] === bad.size;
  const readLabel = ownRead ? `op ${testcalls} (${opWords(failEntry)})` : `fsx's check of the whole file after op ${testcalls}`;
  const tcOf = (j: number): number => tcOfIndex.get(j) ?? testcalls - (failIdx - j);

  // the last op that wrote the first bad byte, from fsx's log, through the ops that moved it
  let wIdx = -1;
  let pos = x;
  const moves: Move[] = [];
  for (let j = ownRead ? failIdx - 1 : failIdx; j >= Math.max(0, log.count - LOGSIZE); j--) {
    const entry = log.entry(j % LOGSIZE);
    const eff = effect(entry, pos);
    if (!eff) continue;
    if (eff.kind === 'wrote') {
      wIdx = j;
      break;
    }
    moves.unshift({ idx: j, tc: tcOf(j), entry, from: eff.from, to: pos });
    pos = eff.from;
    if (moves.length >= MAX_MOVES) break;
  }
  const out: string[] = [];
  const differ = bad.count > 1 ? `${bad.count} bytes differ, ${hx(bad.first)} thru ${hx(bad.last)}` : `the byte at ${hx(bad.first)} differs`;
  if (wIdx < 0) {
    out.push(`In short: ${readLabel} read bytes fsx did not expect (${differ}); no op in fsx's log (the last ${Math.min(log.count, LOGSIZE)}) wrote ${hx(x)}.`);
    return { lines: out };
  }
  const wEntry = log.entry(wIdx % LOGSIZE);
  const wTc = tcOf(wIdx);
  const wLabel = `op ${wTc} (${opWords(wEntry)})`;
  out.push(`In short: ${readLabel} did not read what ${wLabel} wrote at ${hx(pos)}${moves.length ? ` (since moved to ${hx(x)})` : ''} (${differ}):`);

  /** The bad range where it was at event i: before a move's op ended, where the move took it from. */
  const shiftAt = (i: number): number => {
    for (const m of moves) if (i < endOf(m.tc)) return m.from - m.to + shiftAt(endOf(m.tc));
    return 0;
  };
  const covers = (e: TraceEvent, i: number): boolean => {
    const off = Number(e.values?.[1]);
    const len = Number(e.values?.[2]);
    const at = x + shiftAt(i);
    return off <= at && at < off + len;
  };
  /** In a window: the last data event of fsx's of the given family covering the byte, and the IS_DAX() test it acted on. */
  const pathIn = (w: OpWindow | undefined, family: ReadonlySet<string>): { data?: TraceEvent; dataAt: number; test?: TraceEvent; testAt: number } => {
    if (!w) return { dataAt: -1, testAt: -1 };
    let dataAt = -1;
    for (let i = w.to - 1; i >= w.from; i--) {
      const e = events[i];
      if (e.kind === 'data' && e.pid === fsxPid && family.has(String(e.values?.[0])) && covers(e, i)) {
        dataAt = i;
        break;
      }
    }
    const data = dataAt >= 0 ? events[dataAt] : undefined;
    const want = data ? place(String(data.values![0])) !== 'cache' : undefined;
    let testAt = -1;
    let anyAt = -1;
    for (let i = (dataAt >= 0 ? dataAt : w.to) - 1; i >= w.from; i--) {
      const e = events[i];
      if (e.kind !== 'isdax' || e.pid !== fsxPid || CACHE_UPKEEP.has(isDaxFn(e))) continue;
      if (anyAt < 0) anyAt = i;
      if (want === undefined || isDaxValue(e) === want) {
        testAt = i;
        break;
      }
    }
    if (testAt < 0) testAt = anyAt;
    return { data, dataAt, test: testAt >= 0 ? events[testAt] : undefined, testAt };
  };

  const tested = (t: TraceEvent | undefined): string => {
    if (!t) return '';
    const fn = isDaxFn(t);
    return `tested IS_DAX() ${isDaxValue(t)} in ${fn} at step ${t.step}${/_file_mmap$/.test(fn) ? ' (which fixed the mode of its mapping)' : ''}`;
  };

  // the writer
  const wWin = windowOf(wTc);
  const w = pathIn(wWin, WRITES);
  const wHow = w.data ? String(w.data.values![0]) : '';
  const WROTE: Record<string, string> = {
    'write-cache': 'copied its data into the page cache',
    'write-dax': 'wrote its data straight to media (DAX), around the page cache',
    'write-direct': 'wrote its data to media with direct I/O',
    'zero-cache': 'zeroed the range in the page cache',
    'zero-dax': 'zeroed the range on media (DAX)',
    'store-cache': 'its stores through the mapping went into page-cache pages',
    'store-dax': 'its stores through the mapping went straight to media (DAX pfns)',
  };
  if (!wWin) out.push(`  ${wLabel} is too long ago for the trace to say which path it took;`);
  else {
    const parts = [tested(w.test), WROTE[wHow] ?? 'left zeros there (a hole, or blocks not yet written)'].filter(Boolean);
    out.push(`  ${wLabel} ${parts.join(', and ')};`);
  }

  // the read
  const rWin = windowOf(testcalls);
  const r = pathIn(rWin, READS);

  // between the writer's decision and the read's: flag changes, moves, and write-back or eviction that left the bytes off media
  const from = w.testAt >= 0 ? w.testAt : w.dataAt >= 0 ? w.dataAt : wWin ? wWin.from : 0;
  const to = r.testAt >= 0 ? r.testAt : r.dataAt >= 0 ? r.dataAt : events.length;
  const lastTest = new Map<number, TraceEvent>();
  const skips: { test?: TraceEvent; pages: number[]; how: string; task: string; step: number; at: number }[] = [];
  const flips: { at: number; text: string }[] = [];
  /** What to say between the writer and the read; `same` joins neighbours that say the same of other steps. */
  const between: { at: number; text: string; same?: string; when?: string }[] = [];
  for (const m of moves) {
    const mw = windowOf(m.tc);
    // after the op's own write-back and dropping of the cache
    between.push({ at: (mw ? mw.to : endOf(m.tc)) - 0.5, text: `  op ${m.tc} (${opWords(m.entry)}) moved what media held at ${hx(m.from)} to ${hx(m.to)};` });
  }
  for (let i = from + 1; i < to; i++) {
    const e = events[i];
    if (e.kind === 'isdax') lastTest.set(e.pid, e);
    else if (e.kind === 'flip' && e.values && e.values[2] === true && /^on-disk DAX flag/.test(e.text)) {
      const dax = e.values[0] === true;
      const how = e.values[1];
      const s = how === 'now' ? `S_DAX=${dax ? 1 : 0} at once` : how === 'on-reload' ? 'S_DAX to follow on the next inode load' : 'S_DAX unchanged';
      flips.push({ at: i, text: `  ${who(e)} ${dax ? 'set' : 'cleared'} the DAX flag at step ${e.step} (${s});` });
    } else if (e.kind === 'flip' && e.values && e.values[2] === true && /^on-disk journal flag/.test(e.text)) {
      // ext4 before 5.8: the flipper toggles the journalling flag, and ext4_set_inode_flags() sets S_DAX from it at once
      const on = e.values[0] === true;
      flips.push({ at: i, text: `  ${who(e)} ${on ? 'set' : 'cleared'} the journal flag (chattr ${on ? '+j' : '-j'}) at step ${e.step} (S_DAX=${e.values[1] === true ? 1 : 0} at once);` });
    } else if (e.kind === 'note' && /^inode loaded from disk/.test(e.text)) {
      flips.push({ at: i, text: `  ${who(e)} loaded the inode at step ${e.step}: ${e.text.replace(/^inode loaded from disk: /, '')};` });
    } else if (e.kind === 'data' && (e.values?.[0] === 'wb-skip' || e.values?.[0] === 'drop-dirty') && i > w.dataAt) {
      const off = Number(e.values[1]);
      const d = shiftAt(i);
      if (off + Number(e.values[2]) <= bad.first + d || off > bad.last + d) continue;
      const test = lastTest.get(e.pid);
      const last = skips[skips.length - 1];
      if (last && last.how === e.values[0] && last.task === who(e) && last.test === test) last.pages.push(off / 4096);
      else skips.push({ test, pages: [off / 4096], how: String(e.values[0]), task: who(e), step: e.step, at: i });
    }
  }
  // many flips: the first and the last ones say enough
  if (flips.length > MAX_FLIPS) {
    const n = flips.length - 3;
    flips.splice(1, n, { at: flips[1].at, text: `  ... the flag changed ${n} more time(s) ...` });
  }
  between.push(...flips);
  /** "page 6", "pages 6, 7", "pages 29..35, 40". */
  const pageList = (p: number[]): string => {
    if (p.length === 1) return `page ${p[0]}`;
    const runs: string[] = [];
    for (let i = 0; i < p.length; ) {
      let j = i;
      while (j + 1 < p.length && p[j + 1] === p[j] + 1) j++;
      runs.push(j - i >= 2 ? `${p[i]}..${p[j]}` : p.slice(i, j + 1).join(', '));
      i = j + 1;
    }
    return `pages ${runs.join(', ')}`;
  };
  /** Who did it: fsx's op, or the other task. */
  const byWhom = (at: number, task: string, pid: number): string => {
    if (pid !== fsxPid) return task;
    const win = windows.find((v) => v.from <= at && at < v.to);
    if (!win) return task;
    const name = win.idx >= Math.max(0, log.count - LOGSIZE) && win.idx < log.count ? OP_NAMES[log.entry(win.idx % LOGSIZE).op] : undefined;
    return `fsx's op ${win.tc}${name ? `, ${name}` : ''}`;
  };
  for (const s of skips) {
    const when = `step ${s.test && s.how === 'wb-skip' ? s.test.step : s.step} (${byWhom(s.at, s.task, events[s.at].pid)})`;
    if (s.how === 'wb-skip') {
      const t = s.test;
      const said = `${t ? `write-back tested IS_DAX() ${isDaxValue(t)} in ${isDaxFn(t)}` : 'DAX write-back ran'}: DAX write-back looks only at DAX entries and skipped the dirty page-cache ${pageList(s.pages)}, so media did not get their bytes;`;
      between.push({ at: s.at, text: said, same: said, when });
    } else {
      const said = `the dirty page-cache ${pageList(s.pages)} ${s.pages.length === 1 ? 'was' : 'were'} dropped without being written back: ${s.pages.length === 1 ? 'its' : 'their'} bytes are gone;`;
      between.push({ at: s.at, text: said, same: said, when });
    }
  }
  between.sort((p, q) => p.at - q.at);
  for (let i = 0; i < between.length; i++) {
    const b = between[i];
    if (!b.same) {
      out.push(b.text);
      continue;
    }
    const whens = [b.when!];
    while (i + 1 < between.length && between[i + 1].same === b.same) whens.push(between[++i].when!);
    const at = whens.length === 1 ? whens[0] : `${whens.slice(0, -1).join(', ')} and ${whens[whens.length - 1]}`;
    out.push(`  at ${at} ${b.text}`);
  }

  // the read's path, and why it missed the bytes
  const rHow = r.data ? String(r.data.values![0]) : '';
  const READ_FROM: Record<string, string> = {
    'read-cache': 'read the page cache',
    'read-dax': 'read media through DAX',
    'read-direct': 'read media (direct I/O)',
    'load-cache': 'loaded through the mapping from page-cache pages',
    'load-dax': 'loaded through the mapping straight from media (DAX pfns)',
    'load-zero': 'loaded the shared zero page (a hole on media)',
  };
  let why = '';
  if (r.data && w.data) {
    const wp = place(wHow);
    const rp = place(rHow);
    const dropped = skips.some((s) => s.how === 'drop-dirty');
    if (wp === 'cache' && rp === 'cache' && dropped) why = ', whose dropped pages were read in again from media, which never got the data';
    else if (wp === 'cache' && rp !== 'cache') why = rHow === 'read-direct' ? ', which never got the data (direct I/O reads media)' : `, which never got the data (${rHow.startsWith('load') ? 'a DAX mapping bypasses' : 'DAX reads bypass'} the page cache)`;
    else if (wp === 'media' && rp === 'cache') why = `, which held older bytes than media (${wHow === 'write-direct' ? 'the direct write' : 'the DAX write'} went around the page cache)`;
    else why = ': the bytes were lost between the two (see the steps above)';
  }
  const rParts = [tested(r.test), r.data ? `${READ_FROM[rHow] ?? rHow}${why}` : ''].filter(Boolean);
  out.push(`  ${readLabel} ${rParts.length ? rParts.join(' and ') : 'read the range'}.`);
  return { lines: out, fromSeq: wWin ? events[wWin.from].seq : undefined };
}
