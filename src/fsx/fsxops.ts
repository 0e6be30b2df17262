import { FL, opArgsCount, opCode } from './ops.js';
import type { LogEntry } from './oplog.js';

/** A .fsxops line that fsx's replay would refuse: where, and why. */
export class OpsParseError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly token: string,
    readonly why: string,
  ) {
    super(`${file}:${line}: ${why}${token ? ` at '${token}'` : ''}`);
    this.name = 'OpsParseError';
  }
}

/** One op line of a .fsxops file, with where it came from. */
export interface ParsedOp extends LogEntry {
  line: number;
  /** daxfsx scripts: the op number whose data this op writes (fsx's testcalls when it was recorded). */
  tc?: number;
  /** daxfsx scripts: the op actually run when the line names its plain form (read_dontcache for read, ...). */
  real?: number;
}

/** The result of reading a .fsxops file: its op lines, its '#' lines, and the first error if any. */
export interface ParsedOps {
  ops: ParsedOp[];
  comments: { line: number; text: string }[];
  /** fsx reads lazily: the ops before a bad line still run, then replay stops with exit 100. */
  error?: OpsParseError;
}

const SEP = /[ \t\r\n]+/;

/** strtoul(s, &end, 0) that must consume the whole token; the value as a C int. */
function parseUlong(tok: string): number | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(tok);
  if (!m) return undefined;
  const body = m[2];
  let v: bigint;
  if (/^0[xX]/.test(body)) v = BigInt(body);
  else if (body.length > 1 && body[0] === '0') v = BigInt('0o' + body.slice(1));
  else v = BigInt(body);
  const max = (1n << 64n) - 1n;
  if (v > max) v = max; // strtoul saturates
  if (m[1] === '-') v = ((1n << 64n) - v) & max;
  return Number(BigInt.asIntN(32, v));
}

/** Parse the text of a .fsxops file with fsx's grammar. Never throws. */
export function parseOps(text: string, file: string): ParsedOps {
  const out: ParsedOps = { ops: [], comments: [] };
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  for (let n = 0; n < lines.length; n++) {
    const lineNo = n + 1;
    const toks = lines[n].split(SEP).filter((t) => t.length > 0);
    if (toks.length === 0) continue;
    if (toks[0][0] === '#') {
      out.comments.push({ line: lineNo, text: lines[n] });
      continue;
    }
    const fail = (token: string, why: string): ParsedOps => {
      out.error = new OpsParseError(file, lineNo, token, why);
      return out;
    };
    let k = 0;
    let flags = 0;
    if (toks[k] === 'skip') {
      flags |= FL.SKIPPED;
      k++;
      if (k >= toks.length) return fail('skip', 'operation name missing after skip');
    }
    const op = opCode(toks[k]);
    if (op < 0) return fail(toks[k], 'unknown operation');
    k++;
    const nr = opArgsCount(op);
    const args: [number, number, number, number] = [0, 0, 0, 0];
    for (let i = 0; i < nr; i++, k++) {
      if (k >= toks.length) return fail(toks[k - 1], `${toks[k - (i + 1)]} needs ${nr} arguments, found ${i}`);
      const v = parseUlong(toks[k]);
      if (v === undefined) return fail(toks[k], 'not a number');
      args[i] = v;
    }
    for (; k < toks.length; k++) {
      const t = toks[k];
      if (t === 'keep_size') flags |= FL.KEEP_SIZE;
      else if (t === 'close_open') flags |= FL.CLOSE_OPEN;
      else if (t === 'unshare') flags |= FL.UNSHARE;
      else if (t === '*') continue;
      else return fail(t, 'unknown flag');
    }
    out.ops.push({ op, nrArgs: nr, args, flags, line: lineNo });
  }
  return out;
}
