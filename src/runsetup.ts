import type { RunArgs } from './cli/fsxargs.js';
import type { FsxEngine } from './fsx/engine.js';
import { addBackgroundTasks, flipperTaskFor, mountFor, type Machine } from './kernel/machine.js';
import { flipperTask } from './kernel/syscalls.js';
import { installScript, type Script, type ScriptStrategy } from './replay/script.js';
import { PctStrategy, RandomStrategy, makePrng, type Strategy } from './sched/scheduler.js';
import type { Task } from './sched/task.js';

export interface Started {
  tasks: Task[];
  flippers: Task[];
  flipResults: { ok: number; busy: number };
  scriptStrategy?: ScriptStrategy;
}

/**
 * The tasks of a run and who schedules them: the fsx task (open, fsx's
 * start-up, its ops), and either the flippers of the seed's shell loop under
 * the seeded random or PCT strategy, or a script's flips at their anchors.
 */
export function startTasks(ra: RunArgs, mach: Machine, engine: FsxEngine, existing?: Uint8Array, script?: Script): Started {
  const f = ra.fsx;
  const m = ra.model;
  const { k, sched, fsx, file } = mach;
  // the mount and fsx's close/open drop take effect before the file is first opened
  k.mount = mountFor(m.kernel, m.fs, m.mount);
  k.closeOpenDrop = m.closeOpenDrop;
  sched.add(
    fsx,
    (function* () {
      yield* file.open({ direct: f.oDirect });
      yield* engine.init(existing);
      yield* engine.run();
    })(),
  );
  const started: Started = { tasks: [fsx], flippers: [], flipResults: { ok: 0, busy: 0 } };
  if (script && !m.flip) engine.setReplay(script.ops);
  if (script && m.flip) {
    const t = flipperTaskFor(0);
    started.scriptStrategy = installScript(k, sched, engine, fsx, t, script);
    started.tasks.push(t);
    started.flippers.push(t);
    return started;
  }
  if (m.flip) {
    for (let i = 0; i < m.flippers; i++) {
      const t = flipperTaskFor(i);
      t.weight = m.flipWeight;
      sched.add(t, flipperTask(k, t, makePrng(f.seed, `flipper${i}`), m.flipInterval, sched, started.flipResults));
      started.tasks.push(t);
      started.flippers.push(t);
    }
  }
  started.tasks.push(...addBackgroundTasks(mach, f.seed, m));
  let strategy: Strategy = new RandomStrategy(makePrng(f.seed, 'sched'));
  if (m.sched === 'pct') {
    const estimate = (f.numops > 0 ? f.numops : 10000) * 60;
    strategy = new PctStrategy(makePrng(f.seed, 'pct'), started.tasks, m.pctDepth, estimate);
  }
  sched.strategy = strategy;
  return started;
}
