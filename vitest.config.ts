import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Tests that time something on the wall clock (a signal's effect within a second, --duration, a budget): each
// runs in a group of its own, before the rest, so that no other test file competes with it for the CPU.
const TIMED = ['test/signals.test.ts', 'test/cli/command.test.ts', 'test/shrink.test.ts', 'test/saying.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60000,
    pool: 'forks',
    // every core (vitest's default leaves one idle: on a 2-core machine, one file at a time)
    poolOptions: { forks: { maxForks: availableParallelism(), minForks: 1 } },
    projects: [
      ...TIMED.map((file, i) => ({ extends: true as const, test: { name: `timed-${i + 1}`, include: [file], sequence: { groupOrder: i } } })),
      { extends: true, test: { name: 'rest', include: ['test/**/*.test.ts'], exclude: TIMED, sequence: { groupOrder: TIMED.length } } },
    ],
  },
});
