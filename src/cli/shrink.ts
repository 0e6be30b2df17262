import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { VERSION } from '../core/config.js';
import { EXIT, headline, signature as signatureOf, verdict as verdictOf } from '../core/outcome.js';
import { recordRun, runScript, type Ran, type Script } from '../core/scripted.js';
import { parseOps } from '../fsx/fsxops.js';
import { OP_NAMES } from '../fsx/ops.js';
import { replayCommand } from '../output/paths.js';
import { explainBadData } from '../report/baddata.js';
import { explain } from '../report/explain.js';
import { renderTimeline, timelineRows } from '../report/timeline.js';
import { RecordError, readRecord, recordLines } from '../replay/recording.js';
import { annotateOps, scriptOpLines } from '../replay/script.js';
import { RUN_WORK, SHRINK_WORK, shrink } from '../shrink/shrink.js';
import { errText } from '../util/errors.js';
import type { Sink } from '../util/sink.js';

interface Io {
  stdout: Sink;
  stderr: Sink;
}

/**
 * `daxfsx shrink F.fsxops`: the smallest run that fails the way the recorded one did. `interrupted` (a
 * signal's number, or 0) stops the shrink before its next candidate: the smallest failing run found by
 * then is written and the signal's number returned.
 */
export async function runShrinkCli(argv: string[], io: Io, interrupted?: () => number): Promise<number> {
  const cmd = new Command('daxfsx shrink')
    .description('cut a failing run recorded by daxfsx down to a minimal reproducer (delta debugging; every candidate is a real run)')
    .argument('<ops>', 'the .fsxops file of a failing daxfsx run')
    .addOption(new Option('--out <file>', 'where the minimal run goes (default: F.min.fsxops beside the input)'))
    .addOption(new Option('--summary <file>', 'JSON: signature, opsBefore/After, flipsBefore/After, stepsBefore/After, work, seconds (and stopped: true after a signal, cut: "work" or "time" when a budget ended it)'))
    .addOption(new Option('--work <n>', `stop once the candidate runs have done this much work: their model steps, and ${RUN_WORK} for each run's set-up (about a minute here); the same result on any machine`).default(String(SHRINK_WORK)))
    .addOption(new Option('--budget <seconds>', 'stop after this long as well (a shrink cut short by it depends on the machine\'s speed)'))
    .helpOption('--help', 'show this help')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s), outputError: () => {} });
  cmd.addHelpText(
    'after',
    `
Exit codes: 0 the shrunk run was written; 1 the recorded run does not fail; 90 usage; 93 a file that
cannot be read or written; 100 not a daxfsx recording, or a damaged one; 2, 15 SIGINT or SIGTERM: it
stops before its next candidate run, writes the smallest failing run found so far and says so.`,
  );
  let file = '';
  cmd.action((f: string) => {
    file = f;
  });
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help') return 0;
      io.stderr.write(`daxfsx shrink: ${e.message.replace(/^error: /, '')}\n`);
      return 90;
    }
    throw e;
  }
  const o = cmd.opts<{ out?: string; summary?: string; budget?: string; work: string }>();
  const budget = o.budget === undefined ? Infinity : Number(o.budget);
  if (Number.isNaN(budget) || budget <= 0) {
    io.stderr.write(`daxfsx shrink: option --budget: must be a number of seconds greater than 0 (got ${o.budget})\n`);
    return 90;
  }
  const work = Number(o.work);
  if (!Number.isSafeInteger(work) || work <= 0) {
    io.stderr.write(`daxfsx shrink: option --work: must be a whole number greater than 0 (got ${o.work})\n`);
    return 90;
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    io.stderr.write(`daxfsx shrink: ${file}: ${errText(e)}\n`);
    return 93;
  }
  let rec;
  try {
    rec = readRecord(text, file);
  } catch (e) {
    if (e instanceof RecordError) {
      io.stderr.write(`daxfsx shrink: ${e.message}\n`);
      return EXIT.REPLAY;
    }
    throw e;
  }
  if (!rec) {
    io.stderr.write(`daxfsx shrink: ${file}: no daxfsx record: shrinking needs a run daxfsx recorded (run it with daxfsx first)\n`);
    return EXIT.REPLAY;
  }
  const parsed = parseOps(text, file);
  if (parsed.error) {
    io.stderr.write(`daxfsx shrink: ${parsed.error.message}\n`);
    return EXIT.REPLAY;
  }
  const config = rec.config;
  if (config.model.flippers !== 1 && config.model.flip) {
    io.stderr.write('daxfsx shrink: runs with more than one flipper cannot be shrunk yet\n');
    return 90;
  }

  let script: Script;
  let first: Ran;
  let counts = '';
  if (rec.origin.kind === 'script') {
    script = { ops: annotateOps(text, parsed.ops), flips: rec.schedule };
    first = runScript(config, script);
  } else {
    // draw the recorded run again, keeping every op and where each flip came in
    const r = recordRun(config);
    script = r.script;
    first = r;
    const skipped = r.ops - script.ops.length;
    counts = ` (the run made ${r.ops} ops${skipped > 0 ? `, ${skipped} of them skipped by fsx, which a script leaves out` : ''})`;
  }
  const signature = signatureOf(first.outcome);
  if (!signature) {
    io.stderr.write(`daxfsx shrink: ${file}: the recorded run does not fail, nothing to shrink\n`);
    return 1;
  }
  const what = headline(first.outcome);
  io.stderr.write(`daxfsx shrink: ${what}: ${script.ops.length} ops${counts}, ${script.flips.length} flips; shrinking...\n`);
  const res = await shrink(config, script, signature, { work, budgetMs: budget * 1000, stop: () => (interrupted?.() ?? 0) !== 0 });
  if (res.stopped) io.stderr.write('daxfsx shrink: stopped by a signal: writing the smallest failing run found so far\n');
  const cutShort = res.cut === 'work' ? `the --work budget (${work}) ran out` : res.cut === 'time' ? `the --budget (${o.budget} s) ran out` : '';
  if (cutShort) io.stderr.write(`daxfsx shrink: ${cutShort}: writing the smallest failing run found so far (a larger --work may shrink it further)\n`);
  let out = o.out ?? file.replace(/(\.fsxops)?$/, '.min.fsxops').replace(/\.min\.min\./, '.min.');
  // never write over the input
  if (resolve(out) === resolve(file)) out = file.replace(/(\.fsxops)?$/, '.shrunk.fsxops');
  const lines = [
    ...recordLines({ origin: { kind: 'script', firstOp: 1 }, config, schedule: res.script.flips }, `${VERSION}: minimal run for ${what}; ${res.stopped ? 'the shrink was stopped by a signal; ' : cutShort ? `the shrink was cut short (${cutShort}); ` : ''}replay: daxfsx --replay-ops=THIS_FILE FILE`),
    ...scriptOpLines(res.script.ops),
  ];
  try {
    writeFileSync(out, lines.join('\n') + '\n');
  } catch (e) {
    io.stderr.write(`daxfsx shrink: ${out}: ${errText(e)}\n`);
    return EXIT.FILE;
  }
  const w = (s: string): void => io.stdout.write(s + '\n');
  w(`Shrunk ${what}: ${res.before.ops} -> ${res.after.ops} ops, ${res.before.flips} -> ${res.after.flips} flips, ${res.before.steps} -> ${res.after.steps} steps, ${res.candidates} candidate runs (work ${res.work}) in ${res.seconds.toFixed(2)} s${res.stopped ? ', stopped by a signal (the smallest failing run found by then)' : cutShort ? `, cut short: ${cutShort} (the smallest failing run found by then)` : ''}`);
  w('Operations:');
  res.script.ops.forEach((op, i) => w(`  ${i + 1}: ${OP_NAMES[op.real ?? op.op]} ${op.args.slice(0, op.nrArgs - 1).map((v) => '0x' + (v >>> 0).toString(16)).join(' ')}`));
  w('Flips:');
  for (const f of res.script.flips) w(`  xfs_io toggles the DAX flag when fsx is ${f.op === 0 ? 'starting up' : `in op ${f.op}`}, at its preemption point ${f.tick}${f.choices ? ` (then ${f.choices.length} recorded scheduling choices)` : ''}`);
  const fin = res.ran;
  const o2 = fin.outcome;
  const failing = o2.kind === 'kernel' || o2.kind === 'hung' ? o2.task : { comm: fin.run.fsx.comm, pid: fin.run.fsx.pid };
  const events = fin.run.k.trace.since(0);
  const eng = fin.run.engine;
  // READ BAD DATA: the op whose bytes are missing, the flag change after it, and the paths both took
  const bad = o2.kind === 'fsx' && eng.badRead ? explainBadData({ events, fsxPid: fin.run.fsx.pid, log: eng.log, testcalls: eng.testcalls, bad: eng.badRead }).lines : [];
  for (const l of explain(events, failing.pid, `the minimal run (up to op ${fin.ops})`, 80, bad.length === 0)) w(l);
  for (const l of bad) w(l);
  w('Timeline:');
  const rows = timelineRows(events, { step: fin.steps, task: `${failing.comm}:${failing.pid}`, text: verdictOf(o2), stack: '' });
  for (const l of renderTimeline(rows, 100, (_k, s) => s)) w(l);
  w(`Minimal run: ${out}`);
  w(`Replay: ${replayCommand(out, out.replace(/\.fsxops$/, ''))}`);
  if (o.summary) {
    const summary = {
      signature,
      opsBefore: res.before.ops,
      opsAfter: res.after.ops,
      flipsBefore: res.before.flips,
      flipsAfter: res.after.flips,
      stepsBefore: res.before.steps,
      stepsAfter: res.after.steps,
      seconds: Number(res.seconds.toFixed(3)),
      work: res.work,
      ...(res.stopped ? { stopped: true } : {}),
      ...(res.cut ? { cut: res.cut } : {}),
    };
    try {
      writeFileSync(o.summary, JSON.stringify(summary, null, 2) + '\n');
    } catch (e) {
      io.stderr.write(`daxfsx shrink: ${o.summary}: ${(e as Error).message}\n`);
    }
  }
  if (res.stopped) return interrupted?.() || 2;
  return 0;
}
