import { describe, expect, it } from 'vitest';
import { buildMachine } from '../../src/kernel/machine.js';
import { runEngine } from '../helpers.js';

/**
 * With no flips, the model must behave like a plain file: every op is
 * followed by fsx's -X check (read the whole file and its EOF page through
 * a mapping), so any data the model loses or invents fails the run.
 */
describe('the kernel model without flips agrees with the good buffer', () => {
  for (const fs of ['xfs', 'ext4'] as const) {
    for (const dax of [true, false]) {
      for (const extra of [{}, { closeprob: 5 }, { polluteEof: true }, { oDirect: true, readbdy: 512, writebdy: 512 }]) {
        const name = `${fs}, DAX ${dax ? 'on' : 'off'}, ${JSON.stringify(extra)}`;
        it(name, () => {
          for (const seed of [1, 2, 3]) {
            const m = buildMachine({ fs, initialDax: dax, trace: false, maxFileLen: 128 * 1024 });
            // the engine drives the model's file directly here: no scheduler, no other task
            m.k.clock.tick = () => false;
            const opts = { seed, numops: 600, maxfilelen: 128 * 1024, maxoplen: 32 * 1024, checkFile: true, ...extra };
            const r = runEngine(opts, undefined, m.file);
            expect(r.exit, `${name} seed ${seed}: ${r.out.split('\n').slice(0, 4).join(' | ')}`).toBeUndefined();
            expect(m.file.contents()).toEqual(r.engine.good.subarray(0, r.engine.fileSize));
          }
        });
      }
    }
  }
});
