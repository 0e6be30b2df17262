import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../src/cli/main.js';
import { FsxEngine, type FsxOutput } from '../src/fsx/engine.js';
import type { FsxFile } from '../src/fsx/file.js';
import { parseOps } from '../src/fsx/fsxops.js';
import { MemFile } from '../src/fsx/memfile.js';
import { defaultFsxOptions, type FsxOptions } from '../src/fsx/options.js';
import { Sink } from '../src/util/sink.js';

export function tmp(prefix = 'daxfsx-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Run the CLI in this process; stdout and stderr are captured. */
export async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = Sink.memory();
  const stderr = Sink.memory();
  const code = await runCli(args, { stdout, stderr, isTTY: false, env: {} });
  stdout.flush();
  stderr.flush();
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

export interface EngineRun {
  engine: FsxEngine;
  file: FsxFile;
  out: string;
  /** What fsx wrote to standard error with plain fprintf (its probes' messages). */
  err: string;
  ops: string[];
  exit?: number;
}

/** Drive the fsx engine alone against a file (an in-memory one by default). */
export function runEngine(over: Partial<FsxOptions>, replay?: string, file?: FsxFile, existing?: Uint8Array): EngineRun {
  const o: FsxOptions = { ...defaultFsxOptions(), quiet: true, ...over };
  let out = '';
  let err = '';
  let ops: string[] = [];
  const sink: FsxOutput = {
    prt: (s) => (out += s),
    warn: () => {},
    stderr: (s) => (err += s),
    writeOps: (lines) => {
      ops = lines;
      return null;
    },
    writeGood: () => {},
  };
  const f = file ?? new MemFile(o.maxfilelen);
  const engine = new FsxEngine(o, f, sink, 'testfile', 'testfile.fsxgood');
  engine.opsPath = 'testfile.fsxops';
  if (replay !== undefined) {
    const p = parseOps(replay, 'replay.fsxops');
    engine.setReplay(p.ops, p.error);
  }
  const run: EngineRun = { engine, file: f, out: '', err: '', ops: [] };
  try {
    const it = (function* () {
      yield* f.open({ direct: o.oDirect });
      yield* engine.init(existing);
      yield* engine.run();
    })();
    while (!it.next().done);
    engine.finish(true);
  } catch (e) {
    const st = (e as { status?: number }).status;
    if (st === undefined) throw e;
    run.exit = st;
  }
  run.out = out;
  run.err = err;
  run.ops = ops;
  return run;
}

export function readBytes(p: string): Uint8Array {
  return new Uint8Array(readFileSync(p));
}
