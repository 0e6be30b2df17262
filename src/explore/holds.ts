import { RWSEM_OBJS as LOCKS } from '../kernel/access.js';
import type { StepLog } from './steps.js';

/**
 * The lazy locks (explore's reduction: rw_semaphores whose takes are not
 * accesses) each step's task holds while the step runs, and where it took
 * them, worked out from a run's step log.
 */
export interface Holds {
  /** Per step: the locks its task holds through it (taken before or in it), for read and for write. */
  heldR: Int32Array;
  heldW: Int32Array;
  /** Per step: the locks its task held when it began, for read and for write. */
  startR: Int32Array;
  startW: Int32Array;
  /** Per step and lock (acq[j * LOCKS.length + li], li indexing RWSEM_OBJS): the step in which its task took the lock it holds (-1: none). */
  acq: Int32Array;
}

/**
 * The holds of the locks in `lazy` over the first `n` steps of `log`, whose
 * tasks are numbered below T: in `into`'s arrays when they are long enough
 * (their first n entries, and n * L of acq, are written), in new ones if not.
 */
export function holdsOf(log: StepLog, n: number, T: number, lazy: number, into?: Holds): Holds {
  const L = LOCKS.length;
  const task = log.task;
  const fits = into !== undefined && into.heldR.length >= n;
  const heldR = fits ? into.heldR : new Int32Array(n);
  const heldW = fits ? into.heldW : new Int32Array(n);
  const startR = fits ? into.startR : new Int32Array(n);
  const startW = fits ? into.startW : new Int32Array(n);
  const acq = fits ? into.acq : new Int32Array(n * L);
  const curR = new Int32Array(T);
  const curW = new Int32Array(T);
  const curAcq = new Int32Array(T * L).fill(-1);
  for (let j = 0; j < n; j++) {
    const q = task[j];
    const tk = log.takes[j] & lazy;
    const tkw = log.takesW[j] & lazy;
    startR[j] = curR[q];
    startW[j] = curW[q];
    heldR[j] = curR[q] | (tk & ~tkw);
    heldW[j] = curW[q] | tkw;
    for (let li = 0; li < L; li++) {
      if (tk & LOCKS[li]) curAcq[q * L + li] = j;
      acq[j * L + li] = curAcq[q * L + li];
    }
    const rel = log.releases[j] & lazy;
    const keep = log.keeps[j] & lazy;
    curR[q] = (curR[q] & ~rel) | (keep & ~tkw);
    curW[q] = (curW[q] & ~rel) | (keep & tkw);
  }
  return { heldR, heldW, startR, startW, acq };
}
