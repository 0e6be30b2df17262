import { parseOps, type ParsedOp } from '../fsx/fsxops.js';
import { formatOpsLine } from '../fsx/oplog.js';
import { FL, OP_NAMES, opCode } from '../fsx/ops.js';

/**
 * A script's op lines in a file: a `.min.fsxops` holds a script (its
 * schedule in the record, each op's data number on a '# daxfsx-op' line).
 */

const OPLINE = '# daxfsx-op: ';

/** The op lines of a script, each after a '# daxfsx-op' line with its data number (and the op run, when the line names its plain form). */
export function scriptOpLines(ops: readonly ParsedOp[]): string[] {
  const out: string[] = [];
  for (const o of ops) {
    const real = o.real !== undefined && o.real !== o.op ? ` ${OP_NAMES[o.real]}` : '';
    out.push(`${OPLINE}${o.tc ?? 0}${real}`);
    out.push(formatOpsLine(o, false));
  }
  return out;
}

/** Attach the '# daxfsx-op' data of a file to its parsed op lines. */
export function annotateOps(text: string, ops: ParsedOp[]): ParsedOp[] {
  const annot = new Map<number, { tc: number; real?: number }>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (!l.startsWith(OPLINE)) continue;
    const [tc, real] = l.slice(OPLINE.length).split(' ');
    // the annotation belongs to the next op line (line numbers are 1-based)
    const r = real ? opCode(real) : -1;
    if (/^\d+$/.test(tc)) annot.set(i + 2, { tc: Number(tc), real: r >= 0 ? r : undefined });
  }
  return ops.map((o) => {
    const a = annot.get(o.line);
    return a ? { ...o, tc: a.tc, real: a.real } : o;
  });
}

/** A .fsxops file's text as a program to explore: the ops fsx ran (those it skipped left out), or why it is not one. */
export function programOps(text: string, file: string): { ops: ParsedOp[] } | { error: string } {
  const parsed = parseOps(text, file);
  if (parsed.error) return { error: parsed.error.message };
  return { ops: annotateOps(text, parsed.ops.filter((o) => !(o.flags & FL.SKIPPED))) };
}
