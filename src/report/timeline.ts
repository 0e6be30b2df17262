import type { TraceEvent } from '../kernel/trace.js';

/** One row of the picture: a step, the task it belongs to, what kind, short text. */
export interface TimelineRow {
  step: number;
  task: string;
  kind: TraceEvent['kind'] | 'fail';
  text: string;
  stack: string;
  /** For IS_DAX reads: the value. */
  value?: boolean;
}

const KEEP = new Set(['lock', 'isdax', 'flip', 'vma', 'note', 'syscall', 'fault', 'data']);

const DATA_SHORT: Record<string, string> = {
  'write-cache': '-> page cache',
  'write-dax': '-> media (DAX)',
  'write-direct': '-> media (direct)',
  'zero-cache': 'zeros -> page cache',
  'zero-dax': 'zeros -> media (DAX)',
  'store-cache': 'stores -> page cache',
  'store-dax': 'stores -> media (DAX)',
  'read-cache': '<- page cache',
  'read-dax': '<- media (DAX)',
  'read-direct': '<- media (direct)',
  'load-cache': 'loads <- page cache',
  'load-dax': 'loads <- media (DAX)',
  'load-zero': 'loads <- zero page',
};

/** Shorten an event's text for a narrow column. */
function short(e: TraceEvent): { text: string; value?: boolean } {
  const t = e.text;
  if (e.kind === 'data' && e.values) {
    const [how, off, len] = e.values as [string, number, number];
    if (how === 'wb-skip') return { text: `writeback skips dirty pg ${off / 4096}` };
    if (how === 'drop-dirty') return { text: `drops dirty pg ${off / 4096}` };
    return { text: `${DATA_SHORT[how] ?? how} 0x${off.toString(16)}+0x${len.toString(16)}` };
  }
  let m: RegExpExecArray | null;
  if ((m = /^IS_DAX\(\) read (true|false) in (.*)$/.exec(t))) return { text: `IS_DAX=${m[1] === 'true' ? 1 : 0} ${m[2]}`, value: m[1] === 'true' };
  if ((m = /^takes (\S+) \((read|write)\)/.exec(t))) return { text: `+${m[1]} ${m[2] === 'write' ? 'excl' : 'shared'}` };
  if ((m = /^releases (\S+) \((read|write)\)/.exec(t))) return { text: `-${m[1]}` };
  if ((m = /^waits for (\S+) \((read|write)\)/.exec(t))) return { text: `waits ${m[1]} ${m[2] === 'write' ? 'excl' : 'shared'}` };
  if ((m = /^FS_IOC_FSSETXATTR: (set|clear) the DAX flag/.exec(t))) return { text: `chattr ${m[1] === 'set' ? '+x' : '-x'}` };
  if ((m = /^on-disk DAX flag (set|cleared)(.*)$/.exec(t))) return { text: `flag ${m[1] === 'set' ? 'set' : 'cleared'}${/S_DAX=(\d)/.exec(m[2]) ? `, S_DAX=${/S_DAX=(\d)/.exec(m[2])![1]}` : m[2].includes('I_DONTCACHE') ? ', I_DONTCACHE' : ''}` };
  if (t.startsWith('->mmap set up')) return { text: `->mmap${t.includes('without VM_MIXEDMAP') ? ' (no VM_MIXEDMAP)' : ' VM_MIXEDMAP'}` };
  if (t.startsWith('vma_link')) return { text: 'vma_link' };
  if ((m = /^(read|write) fault on page (\d+)/.exec(t))) return { text: `${m[1]} fault pg ${m[2]}` };
  if ((m = /^DAX maps page (\d+) to (.*)$/.exec(t))) return { text: `DAX pg ${m[1]} -> ${m[2].replace(' writable', ' rw')}` };
  return { text: t };
}

/** The rows of a failing (or flipped) operation's window, plus the failure itself. */
export function timelineRows(events: TraceEvent[], failure?: { step: number; task: string; text: string; stack: string }): TimelineRow[] {
  const rows: TimelineRow[] = events
    .filter((e) => KEEP.has(e.kind))
    .map((e) => {
      const s = short(e);
      return { step: e.step, task: `${e.comm}:${e.pid}`, kind: e.kind, text: s.text, stack: e.stack, value: s.value };
    });
  if (failure) rows.push({ step: failure.step, task: failure.task, kind: 'fail', text: failure.text, stack: failure.stack });
  return rows;
}

export type Paint = (kind: 'bad' | 'good' | 'dim' | 'head' | 'warn' | 'flip' | 'lock', s: string) => string;

/**
 * The terminal picture: one column per task, time going down, the steps
 * that matter (locks, IS_DAX reads with their value, the flip, the VMA),
 * the failing step last and marked.
 */
export function renderTimeline(rows: TimelineRow[], width: number, paint: Paint, maxRows = 60): string[] {
  const tasks = [...new Set(rows.map((r) => r.task))].sort((a, b) => (a.startsWith('fsx') ? -1 : b.startsWith('fsx') ? 1 : a.localeCompare(b)));
  const shown = rows.length > maxRows ? [...rows.slice(0, 5), null, ...rows.slice(-(maxRows - 6))] : rows;
  const stepW = Math.max(4, String(rows.length ? rows[rows.length - 1].step : 0).length);
  const colW = Math.max(18, Math.floor((Math.max(width, 60) - stepW - 2) / Math.max(1, tasks.length)) - 1);
  const fit = (s: string): string => (s.length > colW ? s.slice(0, colW - 1) + '…' : s.padEnd(colW));
  const out: string[] = [paint('head', `${'step'.padStart(stepW)}  ${tasks.map(fit).join(' ')}`.trimEnd())];
  for (const r of shown) {
    if (!r) {
      out.push(paint('dim', `${'…'.padStart(stepW)}  (${rows.length - maxRows + 1} rows left out)`));
      continue;
    }
    const cells = tasks.map((t) => (t === r.task ? fit(r.text) : ' '.repeat(colW)));
    const col = tasks.indexOf(r.task);
    const kind = r.kind === 'fail' ? 'bad' : r.kind === 'isdax' ? (r.value ? 'good' : 'warn') : r.kind === 'flip' ? 'flip' : r.kind === 'lock' ? 'lock' : 'dim';
    cells[col] = paint(kind, r.kind === 'fail' ? fit(`>> ${r.text}`) : cells[col]);
    out.push(`${String(r.step).padStart(stepW)}  ${cells.join(' ')}`.trimEnd());
  }
  return out;
}
