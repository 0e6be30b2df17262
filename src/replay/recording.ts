import { ConfigError, checkConfig, type RunConfig } from '../core/config.js';
import type { FlipSpec } from '../sched/schedule.js';

/**
 * daxfsx's own data on the '#' lines of a .fsxops file (xfstests fsx skips
 * them; it reads lines of at most 255 characters, so the data is split):
 *
 *   # daxfsx 0.2.0: xfs, kernel locked, 1 flipper; ...          a summary for people
 *   # daxfsx-record: v2 1/2 3f2a91c0 {"origin":{"kind":"generated","firstOp":1},"config":{...
 *   # daxfsx-record: v2 2/2 3f2a91c0 ...,"schedule":[]}
 *
 * The record holds what decides the run — its config (fsx's options and
 * the model's) — how the op lines came to be, and for a script its
 * schedule; never where outputs go. Each line names the format version,
 * its part, and a checksum of the whole, so a damaged, truncated or
 * foreign record is refused before anything runs.
 */
export const RECORD_FORMAT = 2;
/** v1: model.kernel names a built-in design; v2 (this one): it holds the design's contents. */
const READ_FORMATS = [1, 2];
const RECORD = '# daxfsx-record: ';
const CHUNK = 200;

export interface Origin {
  /** generated: drawn from the seed's stream; replayed: fsx-semantics op lines; script: ops + schedule (shrink, explore). */
  kind: 'generated' | 'replayed' | 'script';
  /** The op number of the first op line (a run longer than fsx's 10000-entry log keeps the last 10000). */
  firstOp: number;
}

export interface Recorded {
  origin: Origin;
  config: RunConfig;
  /** A script's flips; empty otherwise. */
  schedule: FlipSpec[];
}

/** A recording daxfsx will not replay: `line` (1-based, 0 for the file as a whole) and why. */
export class RecordError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly why: string,
  ) {
    super(`${file}${line ? `:${line}` : ''}: ${why}`);
    this.name = 'RecordError';
  }
}

/** FNV-1a over the text, as 8 hex digits. */
function checksum(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** The '#' lines that carry a record. */
export function recordLines(r: Recorded, summary: string): string[] {
  const json = JSON.stringify({ origin: r.origin, config: r.config, schedule: r.schedule });
  const sum = checksum(json);
  const parts: string[] = [];
  for (let i = 0; i < json.length; i += CHUNK) parts.push(json.slice(i, i + CHUNK));
  return [`# daxfsx ${summary}`, ...parts.map((p, i) => `${RECORD}v${RECORD_FORMAT} ${i + 1}/${parts.length} ${sum} ${p}`)];
}

const PART = /^v(\d+) (\d+)\/(\d+) ([0-9a-f]{8}) (.*)$/;

function checkOrigin(v: unknown): Origin {
  const o = v as { kind?: unknown; firstOp?: unknown };
  if (typeof v !== 'object' || v === null) throw new ConfigError('origin', 'must be an object');
  if (o.kind !== 'generated' && o.kind !== 'replayed' && o.kind !== 'script') throw new ConfigError('origin.kind', 'must be generated, replayed or script');
  if (typeof o.firstOp !== 'number' || !Number.isInteger(o.firstOp) || o.firstOp < 1) throw new ConfigError('origin.firstOp', 'must be a whole number >= 1');
  for (const k of Object.keys(v)) if (k !== 'kind' && k !== 'firstOp') throw new ConfigError(`origin.${k}`, 'unknown field');
  return { kind: o.kind, firstOp: o.firstOp };
}

function checkSchedule(v: unknown): FlipSpec[] {
  if (!Array.isArray(v)) throw new ConfigError('schedule', 'must be an array of flips');
  return v.map((f: unknown, i) => {
    const x = f as { op?: unknown; tick?: unknown; choices?: unknown };
    const field = `schedule[${i}]`;
    if (typeof f !== 'object' || f === null) throw new ConfigError(field, 'must be an object {op, tick, choices}');
    for (const k of Object.keys(f)) if (!['op', 'tick', 'choices'].includes(k)) throw new ConfigError(`${field}.${k}`, 'unknown field');
    if (typeof x.op !== 'number' || !Number.isInteger(x.op) || x.op < 0) throw new ConfigError(`${field}.op`, 'must be a whole number >= 0');
    if (typeof x.tick !== 'number' || !Number.isInteger(x.tick) || x.tick < 0) throw new ConfigError(`${field}.tick`, 'must be a whole number >= 0');
    if (typeof x.choices !== 'string' || !/^[f0-9]*$/.test(x.choices)) throw new ConfigError(`${field}.choices`, "must be a string of 'f' and flipper digits");
    return { op: x.op, tick: x.tick, choices: x.choices };
  });
}

/**
 * Read the record of a .fsxops file. null: the file has no daxfsx lines at
 * all (fsx's own recording). Throws RecordError for anything else that is
 * not a whole, valid record of a format this version reads.
 */
export function readRecord(text: string, file: string): Recorded | null {
  const lines = text.split('\n');
  const parts: { line: number; text: string }[] = [];
  let firstDaxfsx = 0;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (!l.startsWith('# daxfsx')) continue;
    firstDaxfsx ||= i + 1;
    if (l.startsWith('# daxfsx-args')) throw new RecordError(file, i + 1, 'a recording of daxfsx 0.1 (record format v0), which this version does not replay: run it again with this version');
    if (l.startsWith(RECORD)) parts.push({ line: i + 1, text: l.slice(RECORD.length) });
  }
  if (!firstDaxfsx) return null;
  if (!parts.length) throw new RecordError(file, firstDaxfsx, "daxfsx lines but no '# daxfsx-record:' line: the run's config is missing, and a replay without it would run something else");
  let n = 0;
  let sum = '';
  let json = '';
  let format = RECORD_FORMAT;
  for (const [i, p] of parts.entries()) {
    const m = PART.exec(p.text);
    if (!m) throw new RecordError(file, p.line, "a '# daxfsx-record:' line that is damaged (expected 'vN K/N CHECKSUM DATA')");
    if (!READ_FORMATS.includes(Number(m[1]))) throw new RecordError(file, p.line, `record format v${m[1]}, which this version of daxfsx does not know (it reads ${READ_FORMATS.map((f) => `v${f}`).join(' and ')})`);
    if (i === 0) {
      format = Number(m[1]);
      n = Number(m[3]);
      sum = m[4];
    }
    if (Number(m[2]) !== i + 1 || Number(m[3]) !== n || m[4] !== sum || Number(m[1]) !== format) throw new RecordError(file, p.line, `record part ${m[2]}/${m[3]} where part ${i + 1}/${n} was expected: the record is damaged or parts are missing`);
    json += m[5];
  }
  if (parts.length !== n) throw new RecordError(file, parts[parts.length - 1].line, `the record is truncated: ${parts.length} of its ${n} parts are here`);
  if (checksum(json) !== sum) throw new RecordError(file, parts[0].line, 'the record is damaged: its checksum does not match its data');
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    throw new RecordError(file, parts[0].line, 'the record is damaged: its data is not JSON');
  }
  try {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError('record', 'must be an object');
    const o = v as { [k: string]: unknown };
    for (const k of Object.keys(o)) if (!['origin', 'config', 'schedule'].includes(k)) throw new ConfigError(k, 'unknown field');
    return { origin: checkOrigin(o.origin), config: checkConfig(o.config, format), schedule: checkSchedule(o.schedule) };
  } catch (e) {
    if (e instanceof ConfigError) throw new RecordError(file, parts[0].line, `the record's ${e.field} ${e.why}`);
    throw e;
  }
}
