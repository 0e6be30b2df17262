import type { TraceEvent } from '../kernel/trace.js';

const INTERESTING = new Set(['lock', 'isdax', 'flip', 'vma', 'note', 'fault', 'syscall', 'data']);

/**
 * The interleaving in plain words: the events of the failing operation's
 * window, by task, in the order they happened, and what changed under fsx
 * (leave that out with `summary` false, when the caller says it better).
 */
export function explain(events: TraceEvent[], failingPid: number, opLabel: string, maxLines = 80, summary = true): string[] {
  let ev = events.filter((e) => INTERESTING.has(e.kind));
  if (ev.length > maxLines) {
    // keep every IS_DAX read, flip, VMA event and where bytes went; of the rest, the latest
    const key = ev.filter((e) => e.kind === 'isdax' || e.kind === 'flip' || e.kind === 'vma' || e.kind === 'note' || e.kind === 'data');
    const rest = ev.filter((e) => !key.includes(e)).slice(-Math.max(10, maxLines - key.length));
    const keep = new Set([...key.slice(-maxLines), ...rest]);
    ev = ev.filter((e) => keep.has(e));
  }
  const out: string[] = [`What happened during ${opLabel}, in order:`];
  for (const e of ev) {
    out.push(`  step ${String(e.step).padStart(8)}  ${`${e.comm}:${e.pid}`.padEnd(12)} ${e.text}`);
  }
  if (!summary) return out;
  const reads = events.filter((e) => e.kind === 'isdax' && e.pid === failingPid);
  const flips = events.filter((e) => e.kind === 'flip' && e.pid !== failingPid && /S_DAX=/.test(e.text));
  const changes: string[] = [];
  const value = (e: TraceEvent): string | undefined => /read (true|false)/.exec(e.text)?.[1];
  const where = (e: TraceEvent): string => e.text.replace(/^.* in /, '');
  const between = (a: TraceEvent, b: TraceEvent): string => {
    const fs = flips.filter((f) => f.step > a.step && f.step < b.step);
    return fs.length ? `; in between, ${fs.map((f) => `${f.comm}:${f.pid} changed it at step ${f.step}`).join(', ')}` : '';
  };
  // a decision made at mmap() time lives on in the VMA (its flags and vm_ops): when the last read
  // disagrees with it, that pair is the cause, whatever the reads in between said
  const setup = reads.find((e) => /_file_mmap$/.test(where(e)));
  const last = reads[reads.length - 1];
  const lastFault = [...events].reverse().find((e) => e.kind === 'fault' && e.pid === failingPid);
  const inFault = lastFault ? reads.filter((e) => e.step >= lastFault.step) : [];
  const faultAgrees = inFault.every((e) => value(e) === value(last));
  if (setup && last && setup !== last && value(setup) !== value(last) && faultAgrees) {
    out.push('In short: the VMA was set up for one mode and faulted in the other:');
    out.push(`  IS_DAX() read ${value(setup)} at step ${setup.step} (${where(setup)}), which fixed the VMA's flags and vm_ops for good, and ${value(last)} at step ${last.step} (${where(last)})${between(setup, last)}.`);
    return out;
  }
  for (let i = 1; i < reads.length; i++) {
    const a = reads[i - 1];
    const b = reads[i];
    const va = /read (true|false)/.exec(a.text)?.[1];
    const vb = /read (true|false)/.exec(b.text)?.[1];
    if (va !== vb) {
      const between = flips.filter((f) => f.step > a.step && f.step < b.step);
      changes.push(
        `IS_DAX() read ${va} at step ${a.step} (${a.text.replace(/^.* in /, '')}) and ${vb} at step ${b.step} (${b.text.replace(/^.* in /, '')})` +
          (between.length ? `; in between, ${between.map((f) => `${f.comm}:${f.pid} changed it at step ${f.step}`).join(', ')}` : ''),
      );
    }
  }
  if (changes.length) {
    out.push('In short: S_DAX changed while the operation was in flight, and it acted on both values:');
    for (const c of changes) out.push(`  ${c}.`);
  } else if (flips.length) {
    out.push(`In short: the flag changed ${flips.length} time(s) during the operation (${flips.map((f) => `step ${f.step}`).join(', ')}); the state fsx set up before the change (see the VMA lines) no longer matched the inode after it.`);
  }
  return out;
}
