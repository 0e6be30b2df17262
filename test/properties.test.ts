import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { configFromArgv } from '../src/cli/program.js';
import { signature } from '../src/core/outcome.js';
import { recordRun, runScript } from '../src/core/scripted.js';
import { UsageError } from '../src/util/errors.js';
import { loadScenario } from '../src/cli/scenario.js';
import { parseSeeds, parseShard } from '../src/sweep/seeds.js';
import { parseOps } from '../src/fsx/fsxops.js';
import { getnum } from '../src/fsx/getnum.js';
import { formatOpsLine, type LogEntry } from '../src/fsx/oplog.js';
import { FL, opArgsCount } from '../src/fsx/ops.js';
import { buildMachine } from '../src/kernel/machine.js';
import { RecordError, readRecord } from '../src/replay/recording.js';
import { annotateOps } from '../src/replay/script.js';
import { runEngine, tmp } from './helpers.js';

describe('properties', () => {
  it('.fsxops lines round-trip for arbitrary ops', () => {
    const entry = fc
      .record({
        op: fc.integer({ min: 0, max: 17 }),
        args: fc.tuple(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
        flags: fc.subarray([FL.SKIPPED, FL.KEEP_SIZE, FL.CLOSE_OPEN, FL.UNSHARE]).map((xs) => xs.reduce((a, b) => a | b, 0)),
        overlap: fc.boolean(),
      })
      .map(({ op, args, flags, overlap }) => {
        const nrArgs = opArgsCount(op);
        const e: LogEntry = { op, nrArgs, args: [args[0], args[1], args[2], nrArgs === 4 ? args[3] : 0], flags };
        return { e, overlap };
      });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 20 }), (entries) => {
        const text = entries.map(({ e, overlap }) => formatOpsLine(e, overlap)).join('\n') + '\n';
        const p = parseOps(text, 'x');
        expect(p.error).toBeUndefined();
        expect(p.ops.map(({ op, nrArgs, args, flags }) => ({ op, nrArgs, args, flags }))).toEqual(entries.map(({ e }) => e));
      }),
      { numRuns: 300 },
    );
  });

  it('with no flips the model file equals the good buffer after every op, for arbitrary streams and options', () => {
    const config = fc.record({
      seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      fs: fc.constantFrom('xfs' as const, 'ext4' as const),
      dax: fc.boolean(),
      maxfilelen: fc.constantFrom(8192, 65536, 100000),
      maxoplen: fc.constantFrom(1, 4096, 30000),
      readbdy: fc.constantFrom(1, 512, 4096),
      writebdy: fc.constantFrom(1, 512, 4096),
      truncbdy: fc.constantFrom(1, 4096),
      closeprob: fc.constantFrom(0, 7),
      polluteEof: fc.boolean(),
    });
    fc.assert(
      fc.property(config, (c) => {
        const m = buildMachine({ fs: c.fs, initialDax: c.dax, trace: false, maxFileLen: c.maxfilelen });
        m.k.clock.tick = () => false;
        const { fs: _fs, dax: _dax, ...opts } = c;
        const r = runEngine({ ...opts, numops: 120, checkFile: true }, undefined, m.file);
        expect(r.exit, JSON.stringify(c) + r.out.slice(0, 300)).toBeUndefined();
        expect(m.file.contents()).toEqual(r.engine.good.subarray(0, r.engine.fileSize));
      }),
      { numRuns: 40 },
    );
  });

  it('the designs marked clean never fail under arbitrary schedules of small programs', () => {
    const flip = fc.record({
      op: fc.integer({ min: 0, max: 4 }),
      tick: fc.integer({ min: 0, max: 150 }),
      choices: fc.array(fc.constantFrom('f', '0'), { maxLength: 40 }).map((xs) => xs.join('')),
    });
    const world = fc.record({
      seed: fc.integer({ min: 1, max: 100000 }),
      fs: fc.constantFrom('xfs', 'ext4'),
      kernel: fc.constantFrom('ignored', 'deferred'),
      dax: fc.constantFrom('on', 'off'),
      close: fc.boolean(),
      flips: fc.array(flip, { minLength: 1, maxLength: 3 }),
    });
    fc.assert(
      fc.property(world, (w) => {
        const args = ['-S', String(w.seed), '-l', '65536', '-o', '16384', '--fs', w.fs, '--kernel', w.kernel, '--initial-dax', w.dax, ...(w.close ? ['-c', '2'] : [])];
        const config = configFromArgv(args);
        const program = recordRun({ fsx: { ...config.fsx, numops: 8 }, model: { ...config.model, flip: false } }).script.ops.slice(0, 4);
        const r = runScript(config, { ops: program, flips: w.flips });
        expect(signature(r.outcome), JSON.stringify(w)).toBe('');
      }),
      { numRuns: 150 },
    );
  });

  it("the parsers throw nothing but their own errors on arbitrary text", () => {
    const d = tmp();
    const text = fc.oneof(fc.string({ maxLength: 300 }), fc.array(fc.constantFrom('skip', 'write', 'copy_range', '0x10', '# daxfsx-args: ', '["-q"]', '# daxfsx-record: v1 1/1 00000000 ', '{"origin":', '# daxfsx-flip: 1 2 f0', '# daxfsx-op: 3 read_dontcache', '\n', ' ', '*', 'keep_size', '{', '"name"'), { maxLength: 40 }).map((xs) => xs.join('')));
    fc.assert(
      fc.property(text, (t) => {
        const p = parseOps(t, 'x');
        expect(() => annotateOps(t, p.ops)).not.toThrow();
        try {
          readRecord(t, 'x');
        } catch (e) {
          expect(e).toBeInstanceOf(RecordError);
        }
        expect(() => getnum(t)).not.toThrow();
        for (const f of [() => parseSeeds(t), () => parseShard(t, {})]) {
          try {
            f();
          } catch (e) {
            expect(e).toBeInstanceOf(UsageError);
          }
        }
        const file = join(d, 's.json');
        writeFileSync(file, t);
        try {
          loadScenario(file);
        } catch (e) {
          expect(e).toBeInstanceOf(UsageError);
        }
      }),
      { numRuns: 300 },
    );
  });
});
