import { existsSync, realpathSync } from 'node:fs';
import { basename } from 'node:path';
import type { Outputs } from '../core/config.js';

/** Where a run's files go. */
export interface Paths {
  /** The test file (its final contents). */
  file: string;
  good: string;
  log: string;
  ops: string;
  dmesg: string;
}

const same = (a: string, b: string): boolean => existsSync(a) && existsSync(b) && realpathSync(a) === realpathSync(b);

/**
 * fsx's file names (F, F.fsxgood, F.fsxlog, F.fsxops, or in -P DIR) and
 * daxfsx's F.dmesg. A replay never writes over the run it replays: when F
 * is the base of the replayed recording (F.fsxops), everything goes to
 * F.replay instead, and a record never lands on the replay input.
 */
export function outputPaths(o: Outputs, replayFile?: string): { paths: Paths; moved: boolean } {
  let fname = o.fname;
  let moved = false;
  if (replayFile) {
    const recorded = replayFile.replace(/\.fsxops$/, '');
    if (recorded !== replayFile && (same(recorded, fname) || recorded === fname)) {
      fname = `${fname}.replay`;
      moved = true;
    }
  }
  const base = o.dir ? `${o.dir}/${basename(fname)}` : fname;
  let ops = typeof o.recordOps === 'string' ? o.recordOps : `${base}.fsxops`;
  if (replayFile && (ops === replayFile || same(ops, replayFile))) ops = ops.replace(/(\.fsxops)?$/, '.replay.fsxops');
  return { paths: { file: fname, good: `${base}.fsxgood`, log: `${base}.fsxlog`, ops, dmesg: `${base}.dmesg` }, moved };
}

/** A shell word, quoted only when it must be. */
export function shellWord(x: string): string {
  return /^[\w@%+=:,./-]+$/.test(x) ? x : `'${x.replace(/'/g, `'\\''`)}'`;
}

/** The command that replays a recording, runnable as printed: the test file named so that the replay keeps this run's files. */
export function replayCommand(opsPath: string, fname: string): string {
  const target = opsPath.replace(/\.fsxops$/, '') === fname ? `${fname}.replay` : fname;
  return `daxfsx --replay-ops=${shellWord(opsPath)} ${shellWord(target)}`;
}

/** A failure's signature as a file name (sweep's saved failures, explore's and the design search's reproducers). */
export function slug(signature: string): string {
  return signature.replace(/[^\w.-]+/g, '_');
}
