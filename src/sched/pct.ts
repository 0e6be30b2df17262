import type { Prng, Strategy } from './strategy.js';
import type { Task } from './task.js';

/**
 * PCT (Burckhardt et al., ASPLOS 2010): distinct random priorities, the
 * highest-priority runnable task runs, and at d-1 random steps in [1, k]
 * the running task drops below every initial priority. The priorities are
 * this strategy's own state.
 */
export class PctStrategy implements Strategy {
  readonly name = 'pct';
  readonly everyStep = false;
  private readonly prio = new Map<Task, number>();
  private readonly changeAt: number[];
  private next = 0;

  constructor(rnd: Prng, tasks: readonly Task[], depth: number, estimatedSteps: number) {
    const prios = tasks.map((_, i) => depth + i);
    for (let i = prios.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [prios[i], prios[j]] = [prios[j], prios[i]];
    }
    tasks.forEach((t, i) => this.prio.set(t, prios[i]));
    const k = Math.max(1, estimatedSteps);
    this.changeAt = Array.from({ length: depth - 1 }, () => 1 + Math.floor(rnd() * k)).sort((a, b) => a - b);
  }

  private best(runnable: readonly Task[], n: number): Task {
    let best = runnable[0];
    for (let i = 1; i < n; i++) if ((this.prio.get(runnable[i]) ?? 0) > (this.prio.get(best) ?? 0)) best = runnable[i];
    return best;
  }

  pick(runnable: readonly Task[], n: number, step: number): Task {
    let best = this.best(runnable, n);
    while (this.next < this.changeAt.length && this.changeAt[this.next] <= step) {
      // the i-th change point lowers the running task to priority d-i
      this.prio.set(best, this.changeAt.length - this.next);
      this.next++;
      best = this.best(runnable, n);
    }
    return best;
  }
}
