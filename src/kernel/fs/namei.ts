import type { Task } from '../../sched/task.js';
import { Dentry, File, type Gen, type Kernel } from '../core.js';
import { iget } from './inode.js';

/**
 * Opening the test file by name (fs/namei.c do_filp_open -> path_openat):
 * a cached dentry is found and referenced (lookup_fast, dget); otherwise
 * ->lookup finds the inode (loading it if it was evicted) and a new dentry
 * is added for it (lookup_slow, d_splice_alias).
 */
export function* do_filp_open(k: Kernel, t: Task): Gen<File> {
  t.enter('do_filp_open');
  t.enter('path_openat');
  try {
    for (;;) {
      if (k.tick()) yield;
      const d = k.dentry;
      if (d) {
        d.count++;
        return new File(d);
      }
      t.enter('lookup_slow');
      yield* iget(k, t);
      t.leave();
      if (k.dentry) {
        // another lookup added the dentry meanwhile: d_splice_alias gives theirs, our inode reference goes
        k.inode.refs--;
        continue;
      }
      const nd = new Dentry();
      nd.count = 1;
      k.dentry = nd;
      return new File(nd);
    }
  } finally {
    t.leave();
    t.leave();
  }
}
