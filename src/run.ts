import { existsSync, readFileSync, realpathSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import pino from 'pino';
import type { RunArgs } from './cli/fsxargs.js';
import { FsxEngine, FsxExit, type FsxOutput } from './fsx/engine.js';
import { parseOps, type ParsedOps } from './fsx/fsxops.js';
import { OP_NAMES } from './fsx/ops.js';
import { KernelPanic } from './kernel/core.js';
import { bootLog, buildMachine } from './kernel/machine.js';
import { DaxStateMismatch } from './kernel/sdaxcheck.js';
import { FaultLoop } from './kernel/mm/memory.js';
import { Dmesg, hungText, panicText, softLockupText, warningText, type Machine } from './kernel/oops.js';
import { explain } from './report/explain.js';
import { renderHtml } from './report/html.js';
import { renderTimeline, timelineRows, type Paint } from './report/timeline.js';
import { decidingArgs, headerLines } from './replay/recording.js';
import { formatOpsLine } from './fsx/oplog.js';
import { readScript, type Script } from './replay/script.js';
import { startTasks } from './runsetup.js';
import type { TraceEvent } from './kernel/trace.js';
import { HungTask } from './sched/scheduler.js';
import { Sink } from './util/sink.js';
import { errText } from './util/errors.js';

export const VERSION = '0.1.0';

/** daxfsx's own exit codes for the model's verdicts (fsx's codes stay fsx's). */
export const EXIT = {
  OK: 0,
  OOPS: 50,
  HUNG: 51,
  WARNING: 52,
  OUTPUT: 94,
  USAGE: 90,
  INTERRUPTED: 130,
} as const;

export interface RunOutcome {
  /** Where this run's .fsxops went (not part of the summary). */
  opsPath?: string;
  verdict: string;
  signature: string;
  exitCode: number;
  seed: number;
  kernel: string;
  fs: string;
  ops: number;
  steps: number;
  flips: number;
  elapsedMs: number;
}

export interface RunIo {
  stdout: Sink;
  stderr: Sink;
  /** Show progress on the terminal. */
  progress: boolean;
  /** Colour the report on the terminal. */
  paint: Paint;
  /** Width of the terminal (for the timeline). */
  columns: number;
  /** Stop at the next step (a signal arrived). */
  interrupted?: () => number;
}

export class OutputError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'OutputError';
  }
}

interface Paths {
  good: string;
  log: string;
  ops: string;
  dmesg: string;
}

function outputPaths(a: RunArgs): Paths {
  const base = a.fsx.dirpath ? `${a.fsx.dirpath}/${basename(a.fname)}` : a.fname;
  let ops = typeof a.recordOps === 'string' ? a.recordOps : `${base}.fsxops`;
  if (a.replayOps && existsSync(ops) && existsSync(a.replayOps) && realpathSync(ops) === realpathSync(a.replayOps)) {
    // never overwrite the replay input with this run's record
    ops = ops.replace(/(\.fsxops)?$/, '.replay.fsxops');
  }
  return { good: `${base}.fsxgood`, log: `${base}.fsxlog`, ops, dmesg: `${base}.dmesg` };
}


/** The command line that replays this run from its .fsxops (which carries the run's options). */
function replayCommand(a: RunArgs, opsPath: string): string {
  const q = (x: string): string => (/^[\w@%+=:,./-]+$/.test(x) ? x : `'${x.replace(/'/g, `'\\''`)}'`);
  return `daxfsx --replay-ops=${q(opsPath)} ${q(a.fname)}`;
}

/**
 * One daxfsx run: fsx's operation stream as a task against the kernel model,
 * with flipper tasks, under the scheduler; then fsx's reports and the
 * model's.
 */
export async function runFsx(a: RunArgs, io: RunIo): Promise<RunOutcome> {
  const started = performance.now();
  const f = a.fsx;
  const m = a.model;
  const paths = outputPaths(a);

  // fsx prints these while parsing options, before its log file exists
  for (const line of a.parseMessages) io.stdout.write(prefixed(f.logid, line + '\n'));
  if (f.seed && !f.quiet) io.stdout.write(prefixed(f.logid, `Seed set to ${f.seed}\n`));
  else if (a.seedPicked) io.stderr.write(`daxfsx: seed ${f.seed}\n`);
  for (const n of a.notes) io.stderr.write(`daxfsx: note: ${n}\n`);

  let replay: ParsedOps | undefined;
  let replayText = '';
  if (a.replayOps) {
    let text: string;
    try {
      text = readFileSync(a.replayOps, 'utf8');
    } catch (e) {
      throw new OutputError(`${a.replayOps}: ${errText(e)}`, 93);
    }
    replay = parseOps(text, a.replayOps);
    replayText = text;
  }

  let existing: Uint8Array | undefined;
  if (f.keepExisting || f.lite) {
    try {
      existing = new Uint8Array(readFileSync(a.fname));
    } catch (e) {
      throw new OutputError(`${a.fname}: ${errText(e)}`, 91);
    }
    if (existing.length === 0) throw new OutputError(`${a.fname}: -k and -L need an existing, non-empty file (its size bounds the file)`, 91);
    if (existing.length > 256 * 1024 * 1024) throw new OutputError(`${a.fname}: ${existing.length} bytes is more than the model holds (256 MiB)`, 91);
  }

  const open = (path: string, code: number): Sink => {
    try {
      return Sink.create(path);
    } catch (e) {
      throw new OutputError(`${path}: ${errText(e)}`, code);
    }
  };
  try {
    writeFileSync(a.fname, existing ?? new Uint8Array(0));
  } catch (e) {
    throw new OutputError(`${a.fname}: ${errText(e)}`, 91);
  }
  try {
    writeFileSync(paths.good, ''); // fsx creates (and truncates) its .fsxgood at start
  } catch (e) {
    throw new OutputError(`${paths.good}: ${errText(e)}`, 92);
  }
  const logSink = open(paths.log, 93);
  if (existsSync(paths.ops) && paths.ops !== a.replayOps) {
    try {
      unlinkSync(paths.ops);
    } catch {
      /* fsx ignores this too */
    }
  }

  const maxLen = existing ? existing.length : f.maxfilelen;
  const { k, sched, fsx: fsxTask, file } = buildMachine({
    fs: m.fs,
    kernel: m.kernel,
    initialDax: m.initialDax,
    panicOnWarn: m.panicOnWarn,
    maxFileLen: maxLen,
    seed: f.seed,
    trace: m.flip,
    hungSteps: m.hungSteps,
  });
  if (existing) k.loadInitial(existing);
  const clock = sched; // the scheduler's step counter is the model's time
  const trace = k.trace;
  const dmesg = new Dmesg(clock);

  let opsError: string | null = null;
  /** Outputs that could not be written: reported at the end, and exit 94 if the run was otherwise fine. */
  const lostOutputs: string[] = [];
  const out: FsxOutput = {
    prt: (s) => {
      io.stdout.write(prefixed(f.logid, s));
      logSink.write(s);
    },
    warn: (s) => io.stderr.write(`${f.logid ? f.logid + ': ' : ''}fsx: ${s}\n`),
    writeOps: (lines) => {
      try {
        writeFileSync(paths.ops, lines.join('\n') + (lines.length ? '\n' : ''));
        return null;
      } catch (e) {
        opsError = `${paths.ops}: ${errText(e)}`;
        return opsError;
      }
    },
    writeGood: (buf) => {
      try {
        writeFileSync(paths.good, buf);
      } catch (e) {
        lostOutputs.push(`${paths.good}: ${errText(e)}`);
      }
    },
  };
  const header = (): string[] =>
    headerLines(
      withSeed(decidingArgs(a.argv, a.fname), f.seed),
      {
        kind: replay && a.exact?.kind !== 'generated' ? 'replayed' : 'generated',
        seed: f.seed,
        firstOp: engine.log.count > 10000 ? engine.log.count - 9999 : 1,
      },
      `${VERSION}: ${m.fs}, kernel ${m.kernel}, ${m.flip ? `${m.flippers} flipper(s)` : 'no flips'}; ${clock.step} steps, ${k.flips} flag changes; replay: daxfsx --replay-ops=THIS_FILE FILE`,
    );
  const engine = new FsxEngine(f, file, out, a.fname, paths.good, header);
  engine.opsPath = paths.ops;
  // an exact replay draws the recorded run's stream again and checks it against the op lines
  let verify: { ops: ParsedOps['ops']; next: number; firstOp: number } | undefined;
  let script: Script | undefined;
  if (replay && a.exact?.kind === 'script') {
    if (replay.error) throw new OutputError(replay.error.message, 100);
    script = readScript(replayText, replay.ops, []);
  } else if (replay && a.exact?.kind === 'generated') {
    if (replay.error) throw new OutputError(replay.error.message, 100);
    verify = { ops: replay.ops, next: 0, firstOp: a.exact.firstOp };
    if (verify.ops.length === 0) engine.requestStop();
  } else if (replay) engine.setReplay(replay.ops, replay.error);

  // structured log
  let jlog: pino.Logger | undefined;
  if (a.logJson) {
    try {
      jlog = pino({ base: null, timestamp: false }, pino.destination({ dest: a.logJson, sync: true, append: false, mkdir: false }));
    } catch (e) {
      throw new OutputError(`${a.logJson}: ${errText(e)}`, 93);
    }
    jlog.info({ event: 'start', seed: f.seed, fs: m.fs, kernel: m.kernel, flip: m.flip, flippers: m.flip ? m.flippers : 0 });
  }
  let logged = 0;
  let lastFlips = 0;
  let opStartStep = 0;
  let flipsAtOpStart = 0;
  /** fsx operations during which the flag changed, with what fsx's IS_DAX() tests read: where lost data comes from. */
  const flipOps: string[][] = [];
  /** The events of the last operation during which the flag changed (for the timeline). */
  let lastFlipWindow: TraceEvent[] = [];
  engine.onOp = (n) => {
    if (verify && n >= verify.firstOp) {
      const got = formatOpsLine(engine.log.last(), false);
      const want = verify.ops[verify.next];
      const wantText = formatOpsLine(want, false);
      if (got !== wantText) {
        throw new ReplayDiverged(
          `${a.replayOps}:${want.line}: the run diverged from its recording at op ${n}: the file says '${wantText}', the recorded options and seed give '${got}' (to replay the op lines alone, as fsx would, delete the '# daxfsx' lines)`,
        );
      }
      if (++verify.next === verify.ops.length) engine.requestStop();
    }
    if (jlog) {
      const log = engine.log;
      for (; logged < log.count; logged++) {
        const slot = logged % 10000;
        const e = log.entry(slot);
        jlog.info({ event: 'op', testcall: n, op: OP_NAMES[e.op], args: e.args.slice(0, e.nrArgs), flags: e.flags, step: clock.step });
      }
      if (k.flips !== lastFlips) {
        jlog.info({ event: 'flips', total: k.flips, step: clock.step });
        lastFlips = k.flips;
      }
    }
    if (trace.enabled && k.flips !== flipsAtOpStart) {
      const ev = trace.since(opStartStep);
      flipOps.push(flipWindow(ev, fsxTask.pid, describeCurrentOp(engine)));
      lastFlipWindow = ev;
      if (flipOps.length > 8) flipOps.shift();
    }
    flipsAtOpStart = k.flips;
    opStartStep = clock.step;
  };

  const { flipResults, scriptStrategy } = startTasks(a, { k, sched, fsx: fsxTask, file }, engine, existing, script);
  const boot = bootLog(k);
  const machine: Machine = {
    version: boot.release,
    hardware: `daxfsx model of ${m.fs} on pmem, design ${m.kernel}`,
    seed: f.seed,
  };
  for (const line of boot.mount) dmesg.log(line, 0);

  let verdict = 'ok';
  let signature = '';
  let exitCode: number = EXIT.OK;
  let kernelReport: string | null = null;
  let failingPid = fsxTask.pid;
  let failingTask = `${fsxTask.comm}:${fsxTask.pid}`;
  let failingFrames = '';
  let lastProgress = performance.now();
  try {
    for (;;) {
      if (sched.run(fsxTask, 20000)) break;
      if (io.interrupted) {
        const sig = io.interrupted();
        if (sig) {
          exitCode = sig;
          verdict = 'interrupted';
          break;
        }
      }
      const now = performance.now();
      if (io.progress && now - lastProgress > 500) {
        lastProgress = now;
        io.stderr.write(`\rdaxfsx: ${engine.testcalls} ops, ${k.flips} flips, ${clock.step} steps  `);
        io.stderr.flush();
      }
      await new Promise((r) => setImmediate(r));
    }
    if (verdict === 'interrupted') {
      out.prt(`signal ${exitCode}\n`);
      out.prt(`testcalls = ${engine.testcalls}\n`);
      engine.logdump();
    } else {
      engine.finish(a.recordOps !== undefined);
    }
  } catch (e) {
    if (e instanceof FsxExit) {
      verdict = e.check;
      signature = e.check;
      exitCode = e.status;
    } else if (e instanceof KernelPanic) {
      verdict = e.kind === 'oops' ? 'oops' : e.kind === 'bug' ? 'bug' : 'warning';
      signature = e.func;
      exitCode = e.kind === 'warning' ? EXIT.WARNING : EXIT.OOPS;
      failingPid = e.task.pid;
      failingTask = `${e.task.comm}:${e.task.pid}`;
      failingFrames = e.frames.join(' > ');
      kernelReport = panicText(e, machine, dmesg.tainted);
    } else if (e instanceof HungTask) {
      verdict = 'hung';
      signature = e.deadlock ? `deadlock in ${e.task.stack[e.task.stack.length - 2] ?? 'down'}` : `blocked in ${e.task.stack[e.task.stack.length - 2] ?? 'down'}`;
      exitCode = EXIT.HUNG;
      failingPid = e.task.pid;
      failingTask = `${e.task.comm}:${e.task.pid}`;
      failingFrames = e.task.stack.join(' > ');
      const holders: string[] = [];
      for (const sem of [k.inode.iolock, k.inode.mmaplock]) {
        if (sem.writer) holders.push(`${sem.writer.comm}/${sem.writer.pid} holds ${sem.name} for write`);
        for (const r of sem.readers) holders.push(`${r.comm}/${r.pid} holds ${sem.name} for read`);
        for (const w of sem.waiters) holders.push(`${w.t.comm}/${w.t.pid} waits for ${sem.name} (${w.write ? 'write' : 'read'})`);
      }
      kernelReport = hungText(e.task, machine, dmesg.tainted, holders);
    } else if (e instanceof DaxStateMismatch) {
      verdict = e.verdict;
      signature = e.signature;
      exitCode = e.exitCode;
      failingPid = e.task.pid;
      failingTask = `${e.task.comm}:${e.task.pid}`;
      failingFrames = e.task.stack.join(' > ');
      kernelReport = `daxfsx: S_DAX check after reopen (xfstests generic/608): ${e.message}`;
    } else if (e instanceof ReplayDiverged) {
      io.stderr.write(`daxfsx: ${e.message}\n`);
      verdict = 'replay diverged';
      signature = 'replay diverged';
      exitCode = 100;
    } else if (e instanceof FaultLoop) {
      verdict = 'hung';
      signature = 'fault retried forever';
      exitCode = EXIT.HUNG;
      failingPid = e.task.pid;
      kernelReport = softLockupText(e.task, machine, dmesg.tainted, e.task.stack.slice());
    } else {
      throw e;
    }
  }
  if (io.progress) io.stderr.write('\r\x1b[K');

  // the kernel log: warnings as they happened, then the failure
  for (const w of k.warnings) {
    dmesg.log(warningText(w, machine), w.step);
    dmesg.tainted = 'G        W';
  }
  let explanation: string[] = [];
  const opLabel = describeCurrentOp(engine);
  let windowEvents: TraceEvent[] = lastFlipWindow;
  let failureRow: { step: number; task: string; text: string; stack: string } | undefined;
  if (kernelReport) {
    dmesg.log(kernelReport);
    engine.dumpFailure();
    windowEvents = trace.since(opStartStep);
    if (a.explain) explanation = explain(windowEvents, failingPid, opLabel);
    failureRow = { step: clock.step, task: failingTask, text: `${verdict} in ${signature}`, stack: failingFrames };
  } else if (exitCode !== EXIT.OK && verdict !== 'interrupted' && verdict !== 'replay diverged') {
    failureRow = { step: clock.step, task: `${fsxTask.comm}:${fsxTask.pid}`, text: verdict, stack: '' };
  }
  if (!kernelReport && exitCode !== EXIT.OK && verdict !== 'interrupted' && a.explain && flipOps.length) {
    explanation = [
      `fsx's check failed (${verdict}). The flag changed while these fsx operations were in flight (the last ${flipOps.length});`,
      'an operation that acted on an IS_DAX() value the flip then changed is where data can be lost:',
      ...flipOps.flat(),
    ];
  }
  logSink.close();

  // the test file keeps what the model holds, as fsx leaves its file behind
  try {
    writeFileSync(a.fname, file.contents());
  } catch (e) {
    lostOutputs.push(`${a.fname}: ${errText(e)}`);
  }
  const replayCmd = replayCommand(a, paths.ops);
  let dmesgText = dmesg.text();
  if (explanation.length) dmesgText += `\n--- daxfsx: the interleaving ---\n${explanation.join('\n')}\nReplay: ${replayCmd}\n`;
  try {
    writeFileSync(paths.dmesg, dmesgText);
  } catch (e) {
    lostOutputs.push(`${paths.dmesg}: ${errText(e)}`);
  }

  const elapsedMs = Math.round(performance.now() - started);
  const outcome: RunOutcome = {
    verdict,
    signature,
    exitCode,
    seed: f.seed,
    kernel: m.kernel,
    fs: m.fs,
    ops: engine.testcalls,
    steps: clock.step,
    flips: k.flips,
    elapsedMs,
  };

  // daxfsx's own words go to standard error
  if (kernelReport) io.stderr.write(io.paint('bad', kernelReport) + '\n');
  else if (k.warnings.length) io.stderr.write(io.paint('bad', `daxfsx: ${k.warnings.length} kernel WARNING(s), see ${paths.dmesg}`) + '\n');
  if (explanation.length) io.stderr.write((kernelReport ? '\n' : '') + explanation.join('\n') + '\n');
  // the picture: on a failure with flips, or when asked for
  const rows = timelineRows(windowEvents, failureRow && windowEvents.length ? failureRow : undefined);
  if (trace.enabled && rows.length && (failureRow || a.timeline)) {
    io.stderr.write(`\n${io.paint('head', 'Timeline')} (${failureRow ? 'the failing operation' : 'the last operation during which the flag changed'}):\n`);
    io.stderr.write(renderTimeline(rows, io.columns, io.paint).join('\n') + '\n');
  }
  if (a.report) {
    const html = renderHtml({
      title: `daxfsx: ${verdict === 'ok' ? 'ok' : `${verdict}${signature && signature !== verdict ? ` in ${signature}` : ''}`} (${m.fs}, ${m.kernel}, seed ${f.seed})`,
      verdict: verdict === 'ok' ? 'ok' : `${verdict}${signature && signature !== verdict ? ` in ${signature}` : ''}`,
      command: `daxfsx ${a.argv.join(' ')}`,
      replay: replayCmd,
      rows,
      ops: lastOps(engine, 60),
      kernelText: dmesg.text(),
      explanation,
    });
    try {
      writeFileSync(a.report, html);
    } catch (e) {
      lostOutputs.push(`${a.report}: ${errText(e)}`);
    }
  }
  if (exitCode !== EXIT.OK && verdict !== 'interrupted' && verdict !== 'replay diverged') io.stderr.write(`\nReplay: ${replayCmd}\nKernel log: ${paths.dmesg}\n`);
  const flipNote = m.flip ? `${k.flips} flag changes${flipResults.busy ? `, ${flipResults.busy} refused` : ''}` : 'no flips';
  const line = `daxfsx: ${verdict === 'ok' ? io.paint('good', 'ok') : io.paint('bad', verdict)}${signature && signature !== verdict ? ` in ${signature}` : ''}: ${engine.testcalls} ops, ${flipNote}, ${clock.step} steps, ${(elapsedMs / 1000).toFixed(2)} s (${m.fs}, ${m.kernel}${m.flip ? `, ${scriptStrategy ? 'script' : m.sched}` : ''})`;
  io.stderr.write(line + '\n');
  if (jlog) {
    // everything but the wall-clock time, so that the log is the same every run
    const { elapsedMs: _wall, ...figures } = outcome;
    jlog.info({ event: 'end', ...figures });
    jlog.flush();
  }
  // an output that could not be written (a full disk, a vanished directory) is a failure of its own
  for (const sk of [io.stdout, logSink]) if (sk.error) lostOutputs.push(sk.error);
  if (opsError) lostOutputs.push(opsError);
  for (const l of lostOutputs) io.stderr.write(`daxfsx: ${l}\n`);
  if (lostOutputs.length && outcome.exitCode === EXIT.OK) {
    io.stderr.write(`daxfsx: ${lostOutputs.length} output file(s) could not be written in full; exit ${EXIT.OUTPUT}\n`);
    outcome.exitCode = EXIT.OUTPUT;
  }
  if (a.summary) {
    try {
      writeFileSync(a.summary, JSON.stringify(outcome, null, 2) + '\n');
    } catch (e) {
      io.stderr.write(`daxfsx: ${a.summary}: ${errText(e)}\n`);
      if (outcome.exitCode === EXIT.OK) outcome.exitCode = EXIT.OUTPUT;
    }
  }
  return { ...outcome, opsPath: paths.ops };
}

/** The seed goes on the record even when it was the default (or picked by -S 0). */
function withSeed(args: string[], seed: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-S' || args[i] === '--seed') i++;
    else if (/^(-S.+|--seed=.*)$/.test(args[i])) continue;
    else out.push(args[i]);
  }
  return ['-S', String(seed), ...out];
}

/** An exact replay met an op line its recorded options and seed do not produce. */
export class ReplayDiverged extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplayDiverged';
  }
}

function prefixed(logid: string, s: string): string {
  return logid ? `${logid}: ${s}` : s;
}

/** The IS_DAX() reads and flag changes of one fsx operation, in order. */
function flipWindow(events: TraceEvent[], fsxPid: number, label: string): string[] {
  const out = [`  ${label}:`];
  let last: string | undefined;
  for (const e of events) {
    if (e.kind === 'isdax' && e.pid === fsxPid) {
      const v = /read (true|false)/.exec(e.text)?.[1];
      out.push(`    step ${e.step}  ${e.comm}:${e.pid}  ${e.text}`);
      last = v;
    } else if (e.kind === 'flip' && /on-disk (DAX|journal) flag/.test(e.text)) {
      out.push(`    step ${e.step}  ${e.comm}:${e.pid}  ${e.text}${last !== undefined ? ` (fsx had last read IS_DAX() ${last})` : ''}`);
    }
  }
  return out;
}

/** The last n operations as .fsxops lines. */
function lastOps(e: FsxEngine, n: number): string[] {
  const out: string[] = [];
  for (const { slot } of e.log.dumpOrder()) out.push(formatOpsLine(e.log.entry(slot), false));
  return out.slice(-n);
}

function describeCurrentOp(e: FsxEngine): string {
  const log = e.log;
  if (!log.count) return 'start-up';
  const entry = log.last();
  return `fsx op ${e.testcalls} (${OP_NAMES[entry.op]} ${entry.args
    .slice(0, entry.nrArgs - 1)
    .map((v) => '0x' + (v >>> 0).toString(16))
    .join(' ')})`;
}
