import type { Task } from '../sched/task.js';
import type { FreeMoment, Gen, Kernel } from './core.js';
import { V5_8 } from './designs.js';
import { vfs_statx } from './fs/stat.js';

/**
 * A check beyond fsx, for the designs that promise S_DAX follows the
 * on-disk flag once the file is no longer in use (5.8+, dax=inode): what
 * xfstests generic/608 checks. When fsx's close/open path reopens the
 * file, if the file was free to be evicted since fsx closed it (no open
 * file, no mapping, nothing but the dcache holding the inode) and the flag
 * has not changed since that moment, statx's STATX_ATTR_DAX must say what
 * loading the inode with that flag gives.
 */

/** The verdict's exit code (daxfsx's own: 50 oops/BUG, 51 hung, 52 WARNING). */
export const DAX_STATE_EXIT = 53;
export const DAX_STATE_VERDICT = 'S_DAX mismatch';
export const DAX_STATE_SIGNATURE = 'S_DAX stale after last close';

/** statx after a reopen disagrees with the on-disk flag the file was freed with. */
export class DaxStateMismatch extends Error {
  readonly exitCode = DAX_STATE_EXIT;
  readonly verdict = DAX_STATE_VERDICT;
  readonly signature = DAX_STATE_SIGNATURE;
  constructor(
    /** The task whose statx saw it (fsx). */
    readonly task: Task,
    /** STATX_ATTR_DAX as statx reported it. */
    readonly statxDax: boolean,
    /** What a load of the inode with the flag gives. */
    readonly expected: boolean,
    /** When the file was free to be evicted. */
    readonly free: FreeMoment,
    /** Loads of the inode from disk so far. */
    readonly loads: number,
  ) {
    super(
      `statx after reopen: STATX_ATTR_DAX=${statxDax ? 1 : 0}, but the on-disk DAX flag was ${free.diskDax ? 'set' : 'clear'} ` +
        `when the file was free to be evicted (step ${free.step}, last reference dropped by ${free.task}); ` +
        `S_DAX should be ${expected ? 1 : 0}: the inode was not evicted after its last close`,
    );
    this.name = 'DaxStateMismatch';
  }
}

/** Whether the release and mount promise S_DAX follows the flag after the last close. */
export function promisesDaxOnClose(k: Kernel): boolean {
  return k.v >= V5_8 && k.mount === 'inode';
}

/**
 * Run by fsx's reopen: `sinceSeq` is k.freeSeq when fsx closed the file.
 * Throws DaxStateMismatch on a disagreement.
 */
export function* check_sdax_after_reopen(k: Kernel, t: Task, sinceSeq: number): Gen<void> {
  const free = k.lastFree;
  if (!promisesDaxOnClose(k) || !free || free.seq <= sinceSeq || free.flips !== k.flips) return;
  const st = yield* vfs_statx(k, t);
  const dax = (st.attributes & st.attributes_mask) !== 0;
  const expected = k.fs.loadDax(k);
  if (dax !== expected && free.flips === k.flips) throw new DaxStateMismatch(t, dax, expected, free, k.inode.loads);
}
