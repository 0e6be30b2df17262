import { readFileSync, unlinkSync, existsSync, writeFileSync } from 'node:fs';
import pino from 'pino';
import { EXIT, headline, headlineOf, isFailure, runRecord, signature, verdict, type Outcome, type RunRecord } from '../core/outcome.js';
import { VERSION, type Outputs, type RunConfig } from '../core/config.js';
import { Run, type FlipperPlan, type OpSource } from '../core/run.js';
import { FsxEngine, type FsxOutput } from '../fsx/engine.js';
import { formatOpsLine } from '../fsx/oplog.js';
import { OP_NAMES } from '../fsx/ops.js';
import { KernelPanic, type FlagChangeKind } from '../kernel/core.js';
import { bootLog } from '../kernel/machine.js';
import { FaultLoop } from '../kernel/mm/memory.js';
import { DaxStateMismatch } from '../kernel/sdaxcheck.js';
import { Dmesg, hungReport, hungReportStep, machineFor, noProgressText, panicText, warningText } from '../kernel/oops.js';
import type { TraceEvent } from '../kernel/trace.js';
import { explainBadData, opWords } from '../report/baddata.js';
import { explain } from '../report/explain.js';
import { renderHtml } from '../report/html.js';
import { renderTimeline, timelineRows, type Paint } from '../report/timeline.js';
import { recordLines, type Origin } from '../replay/recording.js';
import { HungTask } from '../sched/scheduler.js';
import { OutputError, errText } from '../util/errors.js';
import type { ParseLine } from '../fsx/parsemessages.js';
import { Sink } from '../util/sink.js';
import { outputPaths, replayCommand } from './paths.js';

/** Where a run's words go, and how it looks on a terminal. */
export interface RunIo {
  stdout: Sink;
  stderr: Sink;
  /** Show progress on the terminal. */
  progress: boolean;
  paint: Paint;
  /** Width of the terminal (for the timeline). */
  columns: number;
  /** A signal that arrived (2, 15), or 0. */
  interrupted?: () => number;
}

/** A run with its files: what `daxfsx FILE` and a replay do. */
export interface FileRunRequest {
  config: RunConfig;
  outputs: Outputs;
  /** What fsx prints while parsing its options, with their prefix and stream (they depend on where -q and -j stand). */
  parseMessages: readonly ParseLine[];
  /** Options the model cannot honour, with what daxfsx does instead. */
  notes: readonly string[];
  /** -S 0: the seed was picked; say which. */
  seedPicked: boolean;
  /** The command as typed (for the HTML report). */
  command: string;
  /** A replay: the file, its ops and flippers, and how it was recorded (null: fsx's own). */
  replay?: { file: string; ops: OpSource; flippers: FlipperPlan; origin: Origin | null };
}

export interface FileRunResult extends RunRecord {
  elapsedMs: number;
  /** Where this run's .fsxops went, when it was written. */
  opsPath?: string;
  outcome: Outcome;
}

const SIGPIPE = 13;

/** prt()'s -j prefix: set (even to '') once -j was given. */
function prefixed(logid: string | undefined, s: string): string {
  return logid !== undefined ? `${logid}: ${s}` : s;
}

/** fsx's prterr() for a file it cannot open at start-up: NAME: strerror on standard output (fsx's own printer), then its exit. */
function prterr(io: RunIo, logid: string | undefined, name: string, e: unknown, code: number): OutputError {
  io.stdout.write(prefixed(logid, `${name}: ${errText(e)}\n`));
  return new OutputError('', code);
}

/**
 * One daxfsx run with fsx's files (F, F.fsxlog, F.fsxgood, F.fsxops) and
 * daxfsx's (F.dmesg, and the reports asked for): the run core, with fsx's
 * printing wired to standard output and the .fsxlog, then the reporters.
 */
export async function runWithFiles(req: FileRunRequest, io: RunIo): Promise<FileRunResult> {
  const started = performance.now();
  const { config, outputs: out } = req;
  const f = config.fsx;
  const m = config.model;
  const { paths, moved } = outputPaths(out, req.replay?.file);
  const fname = paths.file;

  // fsx prints these while parsing options, before its log file exists
  for (const l of req.parseMessages) (l.stream === 'stdout' ? io.stdout : io.stderr).write(l.text + '\n');
  if (f.seed && !f.quiet) io.stdout.write(prefixed(f.logid, `Seed set to ${f.seed}\n`));
  else if (req.seedPicked) io.stderr.write(`daxfsx: seed ${f.seed}\n`);
  for (const n of req.notes) io.stderr.write(`daxfsx: note: ${n}\n`);
  if (moved) io.stderr.write(`daxfsx: ${out.fname} holds the replayed run's own outputs: this replay writes ${fname} and its files instead\n`);

  let existing: Uint8Array | undefined;
  if (f.keepExisting || f.lite) {
    try {
      existing = new Uint8Array(readFileSync(out.fname));
    } catch (e) {
      // fsx's open() fails (with -k alone it creates the file: an empty one, refused below)
      if (f.lite || (e as NodeJS.ErrnoException).code !== 'ENOENT') throw prterr(io, f.logid, out.fname, e, EXIT.CREATE);
      existing = new Uint8Array(0);
    }
    if (existing.length === 0) throw new OutputError(`${out.fname}: -k and -L need an existing, non-empty file (its size bounds the file)`, EXIT.CREATE);
    if (existing.length > 256 * 1024 * 1024) throw new OutputError(`${out.fname}: ${existing.length} bytes is more than the model holds (256 MiB)`, EXIT.CREATE);
  }
  try {
    writeFileSync(fname, existing ?? new Uint8Array(0));
  } catch (e) {
    throw prterr(io, f.logid, fname, e, EXIT.CREATE);
  }
  try {
    writeFileSync(paths.good, ''); // fsx creates (and truncates) its .fsxgood at start
  } catch (e) {
    throw prterr(io, f.logid, paths.good, e, EXIT.GOOD_FILE);
  }
  let logSink: Sink;
  try {
    logSink = Sink.create(paths.log);
  } catch (e) {
    throw prterr(io, f.logid, paths.log, e, EXIT.FILE);
  }
  if (existsSync(paths.ops)) {
    try {
      unlinkSync(paths.ops);
    } catch {
      /* fsx ignores this too */
    }
  }

  let opsError: string | null = null;
  let opsWritten = false;
  /** Outputs that could not be written: reported at the end, and exit 94 if the run was otherwise fine. */
  const lostOutputs: string[] = [];
  const fsxOut: FsxOutput = {
    prt: (s) => {
      io.stdout.write(prefixed(f.logid, s));
      logSink.write(s);
    },
    warn: (s) => io.stderr.write(prefixed(f.logid, `fsx: ${s}\n`)),
    stderr: (s) => io.stderr.write(s),
    writeOps: (lines) => {
      try {
        writeFileSync(paths.ops, lines.join('\n') + (lines.length ? '\n' : ''));
        opsWritten = true;
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
  const origin = req.replay?.origin;
  const exactKind: Origin['kind'] = !req.replay ? 'generated' : origin?.kind === 'generated' ? 'generated' : origin?.kind === 'script' ? 'script' : 'replayed';
  let run: Run;
  const header = (): string[] => {
    const e = run.engine;
    // a recording holds the ops a run made, not the time it took
    const recorded: RunConfig = { fsx: { ...f, durationSec: 0, numops: f.durationSec > 0 ? e.testcalls : f.numops }, model: m };
    return recordLines(
      { origin: { kind: exactKind, firstOp: e.log.count > 10000 ? e.log.count - 9999 : 1 }, config: recorded, schedule: req.replay?.flippers.kind === 'script' ? [...req.replay.flippers.flips] : [] },
      `${VERSION}: ${m.fs}, kernel ${m.kernel.name}, ${m.flip ? `${m.flippers} flipper(s)` : 'no flips'}; ${run.sched.step} steps, ${run.k.flips} flag changes; replay: daxfsx --replay-ops=THIS_FILE FILE`,
    );
  };
  run = new Run({
    config,
    ops: req.replay?.ops,
    flippers: req.replay?.flippers,
    output: fsxOut,
    fname,
    goodfile: paths.good,
    opsPath: paths.ops,
    opsHeader: header,
    existing,
    trace: m.flip,
  });
  const { k, sched, engine, fsx: fsxTask } = run;
  const trace = k.trace;
  const dmesg = new Dmesg(sched);
  const machine = machineFor(m.fs, m.kernel, f.seed);
  for (const line of bootLog(k).mount) dmesg.log(line, 0);

  // structured log
  let jlog: pino.Logger | undefined;
  if (out.logJson) {
    try {
      jlog = pino({ base: null, timestamp: false }, pino.destination({ dest: out.logJson, sync: true, append: false, mkdir: false }));
    } catch (e) {
      throw new OutputError(`${out.logJson}: ${errText(e)}`, EXIT.FILE);
    }
    jlog.info({ event: 'start', seed: f.seed, fs: m.fs, kernel: m.kernel.name, flip: m.flip, flippers: m.flip ? m.flippers : 0 });
  }
  let logged = 0;
  let opStartStep = 0;
  let flipsAtOpStart = 0;
  /** The last op fsx completed: an op is in flight while testcalls is past it. */
  let completed = 0;
  /** fsx operations during which the flag changed (their labels): with what fsx's IS_DAX() tests read in them, where lost data comes from. */
  const flipOps: string[] = [];
  /** Their events (one list per op in flipOps), kept for an explanation that reaches back past the trace's ring. */
  const flipWindows: TraceEvent[][] = [];
  /** The events of the last operation during which the flag changed (for the timeline). */
  let lastFlipWindow: TraceEvent[] = [];
  /** Log the ops fsx has logged since the last call; with `failing`, the last of them is the op in flight when the run failed. */
  const logOps = (failing = false): void => {
    const log = engine.log;
    for (; logged < log.count; logged++) {
      const e = log.entry(logged % 10000);
      const rec: Record<string, unknown> = { event: 'op', testcall: logged + 1, op: OP_NAMES[e.op], args: e.args.slice(0, e.nrArgs), flags: e.flags, step: sched.step };
      if (failing && logged === log.count - 1 && engine.testcalls !== completed) rec.failing = true;
      jlog!.info(rec);
    }
  };
  engine.onOp = (tc) => {
    completed = tc;
    if (jlog) logOps();
    if (trace.enabled && k.flips !== flipsAtOpStart) {
      const ev = trace.since(opStartStep);
      // (its lines are made only for an explanation: flipWindow() below)
      flipOps.push(describeCurrentOp(engine));
      flipWindows.push(ev);
      lastFlipWindow = ev;
      if (flipOps.length > 8) {
        flipOps.shift();
        flipWindows.shift();
      }
    }
    flipsAtOpStart = k.flips;
    opStartStep = sched.step;
  };
  // every change of the flag as it happens: fsx's -d style on standard error, and the JSON log
  const debugFlips = m.flip && (f.debug || f.debugstart > 0);
  if (jlog || debugFlips) {
    k.onFlag = (t, kind, dax, before, after, how) => {
      const op = engine.testcalls !== completed ? engine.testcalls : null;
      const task = `${t.comm}:${t.pid}`;
      if (jlog) {
        const event = kind === 'flip' ? 'flip' : kind === 'refused' ? 'flip-refused' : 'reload';
        jlog.info({ event, step: sched.step, task, dax, sdax: after, op, ...(kind === 'refused' ? { error: how } : {}) });
      }
      if (debugFlips && engine.debugging) {
        io.stdout.flush(); // keep the two streams in order on a terminal
        io.stderr.write(prefixed(f.logid, `${engine.testcalls} ${flipDebugLine(task, kind, dax, before, after, how)}\tstep ${sched.step}\n`));
        io.stderr.flush();
      }
    };
  }

  let outcome: Outcome | null = null;
  let lastProgress = performance.now();
  while (!(outcome = run.advance(20000))) {
    io.stdout.flush(); // fsx's stdout is line-buffered: a reader that went away is noticed here
    // a closed pipe is fsx's SIGPIPE: its handler ends the run as a signal does
    const sig = io.stdout.broken ? SIGPIPE : io.interrupted?.() ?? 0;
    if (sig) {
      outcome = run.interrupt(sig);
      break;
    }
    const now = performance.now();
    if (io.progress && now - lastProgress > 500) {
      lastProgress = now;
      io.stderr.write(`\rdaxfsx: ${engine.testcalls} ops, ${k.flips} flips, ${sched.step} steps  `);
      io.stderr.flush();
    }
    await new Promise((r) => setImmediate(r));
  }
  if (outcome.kind === 'interrupted') {
    fsxOut.prt(`signal ${outcome.signal}\n`);
    fsxOut.prt(`testcalls = ${engine.testcalls}\n`);
    engine.logdump();
  } else if (outcome.kind === 'clean') {
    engine.finish(out.recordOps !== undefined);
  } else if (outcome.kind === 'diverged') {
    io.stderr.write(`daxfsx: ${outcome.message}\n`);
  }
  if (io.progress) io.stderr.write('\r\x1b[K');

  // the kernel log: warnings as they happened, then the failure (made after them: they taint it and take the earlier trace ids)
  for (const w of k.warnings) {
    dmesg.log(warningText(w, machine, dmesg.tainted), w.step);
    dmesg.tainted = 'W';
  }
  const cause = run.cause;
  let kernelReport: string | null = null;
  let reportStep: number | undefined;
  /** daxfsx's own report where the kernel would print nothing (a fault retried forever). */
  let ownReport: string | null = null;
  if (cause instanceof KernelPanic) kernelReport = panicText(cause, machine, dmesg.tainted);
  else if (cause instanceof HungTask) {
    kernelReport = hungReport(k, machine, dmesg.tainted, cause.task);
    reportStep = hungReportStep(cause.task.waitSince);
  } else if (cause instanceof FaultLoop) ownReport = noProgressText(cause, machine);
  else if (cause instanceof DaxStateMismatch) ownReport = `daxfsx: S_DAX check after reopen (xfstests generic/608): ${cause.message}`;

  const failing = outcome.kind === 'kernel' || outcome.kind === 'hung' ? outcome.task : { comm: fsxTask.comm, pid: fsxTask.pid };
  let explanation: string[] = [];
  const opLabel = describeCurrentOp(engine);
  let windowEvents: TraceEvent[] = lastFlipWindow;
  let windowLabel = 'the failing operation';
  let failureRow: { step: number; task: string; text: string; stack: string } | undefined;
  if (kernelReport || ownReport) {
    if (kernelReport) dmesg.log(kernelReport, reportStep);
    engine.dumpFailure();
    windowEvents = trace.since(opStartStep);
    if (out.explain) explanation = explain(windowEvents, failing.pid, opLabel);
    const frames = outcome.kind === 'kernel' || outcome.kind === 'hung' ? outcome.frames.join(' > ') : '';
    failureRow = { step: sched.step, task: `${failing.comm}:${failing.pid}`, text: headline(outcome), stack: frames };
  } else if (isFailure(outcome)) {
    failureRow = { step: sched.step, task: `${fsxTask.comm}:${fsxTask.pid}`, text: verdict(outcome), stack: '' };
    // READ BAD DATA: the op whose bytes are missing, the flag change after it, and the paths both took
    let bad: string[] = [];
    if (trace.enabled && outcome.kind === 'fsx' && engine.badRead && (out.explain || out.timeline || out.report)) {
      const events = withKept(flipWindows, trace.since(0));
      const story = explainBadData({ events, fsxPid: fsxTask.pid, log: engine.log, testcalls: engine.testcalls, bad: engine.badRead });
      if (out.explain) bad = story.lines;
      // the picture: from the op whose bytes went missing to the read
      if (story.fromSeq !== undefined) {
        windowEvents = events.filter((e) => e.seq! >= story.fromSeq!);
        windowLabel = 'from the op that wrote the bytes to the failing read';
      }
    }
    explanation = bad;
    if (out.explain && flipOps.length) {
      explanation = [
        ...bad,
        ...(bad.length
          ? [`The flag changed while these fsx operations were in flight (the last ${flipOps.length}), with what fsx's IS_DAX() tests read:`]
          : [
              `fsx's check failed (${verdict(outcome)}). The flag changed while these fsx operations were in flight (the last ${flipOps.length});`,
              'an operation that acted on an IS_DAX() value the flip then changed is where data can be lost:',
            ]),
        ...flipOps.flatMap((label, i) => flipWindow(flipWindows[i], fsxTask.pid, label)),
      ];
    }
  }
  logSink.close();

  // the test file keeps what the model holds, as fsx leaves its file behind
  try {
    writeFileSync(fname, run.file.contents());
  } catch (e) {
    lostOutputs.push(`${fname}: ${errText(e)}`);
  }
  const replayCmd = opsWritten ? replayCommand(paths.ops, fname) : '';
  let dmesgText = dmesg.text();
  if (ownReport) dmesgText += `\n--- daxfsx: the kernel logs nothing for this ---\n${ownReport}\n`;
  if (explanation.length) dmesgText += `\n--- daxfsx: the interleaving ---\n${explanation.join('\n')}\n${replayCmd ? `Replay: ${replayCmd}\n` : ''}`;
  try {
    writeFileSync(paths.dmesg, dmesgText);
  } catch (e) {
    lostOutputs.push(`${paths.dmesg}: ${errText(e)}`);
  }

  const elapsedMs = Math.round(performance.now() - started);
  const record = runRecord(config, outcome, run.counts);

  // daxfsx's own words go to standard error
  if (kernelReport) io.stderr.write(io.paint('bad', kernelReport) + '\n');
  else if (ownReport) io.stderr.write(io.paint('bad', ownReport) + '\n');
  if (!kernelReport && k.warnings.length) io.stderr.write(io.paint('bad', `daxfsx: ${k.warnings.length} kernel WARNING(s), see ${paths.dmesg}`) + '\n');
  if (explanation.length) io.stderr.write((kernelReport || ownReport ? '\n' : '') + explanation.join('\n') + '\n');
  // the picture: on a failure with flips, or when asked for
  const rows = timelineRows(windowEvents, failureRow && windowEvents.length ? failureRow : undefined);
  if (trace.enabled && rows.length && (failureRow || out.timeline)) {
    io.stderr.write(`\n${io.paint('head', 'Timeline')} (${failureRow ? windowLabel : 'the last operation during which the flag changed'}):\n`);
    io.stderr.write(renderTimeline(rows, io.columns, io.paint).join('\n') + '\n');
  }
  if (out.report) {
    const head = headline(outcome);
    const html = renderHtml({
      title: `daxfsx: ${head} (${m.fs}, ${m.kernel.name}, seed ${f.seed})`,
      verdict: head,
      command: req.command,
      replay: replayCmd,
      rows,
      ops: lastOps(engine, 60),
      kernelText: dmesg.text(),
      explanation,
    });
    try {
      writeFileSync(out.report, html);
      io.stderr.write(`daxfsx: report: ${out.report}\n`);
    } catch (e) {
      lostOutputs.push(`${out.report}: ${errText(e)}`);
    }
  }
  if (isFailure(outcome)) io.stderr.write(`\n${replayCmd ? `Replay: ${replayCmd}\n` : ''}Kernel log: ${paths.dmesg}\n`);
  const flipNote = m.flip ? `${k.flips} flag changes${run.flipResults.busy ? `, ${run.flipResults.busy} refused` : ''}` : 'no flips';
  const sig = signature(outcome);
  const v = verdict(outcome);
  const line = `daxfsx: ${v === 'ok' ? io.paint('good', 'ok') : io.paint('bad', v)}${headlineOf(v, sig).slice(v.length)}: ${engine.testcalls} ops, ${flipNote}, ${sched.step} steps, ${(elapsedMs / 1000).toFixed(2)} s (${m.fs}, ${m.kernel.name}${m.flip ? `, ${run.script ? 'script' : m.sched}` : ''})`;
  // a reader that went away gets no more words (fsx, killed by its SIGPIPE handler, says nothing either)
  if (!(outcome.kind === 'interrupted' && outcome.signal === SIGPIPE)) io.stderr.write(line + '\n');
  if (jlog) {
    // the op in flight when the run failed, then the end
    logOps(isFailure(outcome));
    jlog.info({ event: 'end', ...record });
    jlog.flush();
  }
  // an output that could not be written (a full disk, a vanished directory) is a failure of its own
  for (const sk of [io.stdout, logSink]) if (sk.error) lostOutputs.push(sk.error);
  if (opsError) lostOutputs.push(opsError);
  for (const l of lostOutputs) io.stderr.write(`daxfsx: ${l}\n`);
  const result: FileRunResult = { ...record, elapsedMs, outcome, opsPath: opsWritten ? paths.ops : undefined };
  if (lostOutputs.length && result.exitCode === EXIT.OK) {
    io.stderr.write(`daxfsx: ${lostOutputs.length} output file(s) could not be written in full; exit ${EXIT.OUTPUT}\n`);
    result.exitCode = EXIT.OUTPUT;
  }
  if (out.summary) {
    try {
      const { outcome: _o, opsPath: _p, ...summary } = result;
      writeFileSync(out.summary, JSON.stringify(summary, null, 2) + '\n');
    } catch (e) {
      io.stderr.write(`daxfsx: ${out.summary}: ${errText(e)}\n`);
      if (result.exitCode === EXIT.OK) result.exitCode = EXIT.OUTPUT;
    }
  }
  return result;
}

/** A flag change as a -d line, after fsx's op number: what, who, and the on-disk flag and S_DAX. */
export function flipDebugLine(task: string, kind: FlagChangeKind, dax: boolean, before: boolean, after: boolean, how: string): string {
  const b = (v: boolean): number => (v ? 1 : 0);
  if (kind === 'reload') return `inode load\t(${task})\tS_DAX ${b(before)} -> ${b(after)} from the on-disk flag`;
  const verb = `chattr ${dax ? '+x' : '-x'}\t(${task})\t`;
  if (kind === 'refused') return `${verb}refused (${how}): on-disk DAX flag stays ${dax ? 'clear' : 'set'}, S_DAX stays ${b(after)}`;
  const sdax = before !== after ? `S_DAX ${b(before)} -> ${b(after)}` : how === 'on-reload' && after !== dax ? `S_DAX stays ${b(after)} until the inode is next loaded` : `S_DAX stays ${b(after)}`;
  return `${verb}on-disk DAX flag ${dax ? 'set' : 'cleared'}, ${sdax}`;
}

/** Events kept from earlier in the run (older than the trace's ring reaches), then the ring's: in order, each once. */
function withKept(kept: TraceEvent[][], ring: TraceEvent[]): TraceEvent[] {
  const first = ring[0]?.seq ?? Infinity;
  const seen = new Set<number>();
  const older: TraceEvent[] = [];
  for (const w of kept) {
    for (const e of w) {
      if (e.seq === undefined || e.seq >= first || seen.has(e.seq)) continue;
      seen.add(e.seq);
      older.push(e);
    }
  }
  older.sort((a, b) => a.seq! - b.seq!);
  return [...older, ...ring];
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

export function describeCurrentOp(e: FsxEngine): string {
  const log = e.log;
  if (!log.count) return 'start-up';
  return `fsx op ${e.testcalls} (${opWords(log.last())})`;
}

