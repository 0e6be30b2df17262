import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { parseOps } from '../fsx/fsxops.js';
import { OP_NAMES } from '../fsx/ops.js';
import { explain } from '../report/explain.js';
import { renderTimeline, timelineRows } from '../report/timeline.js';
import { executeScript, recordGenerated, type Exec } from '../replay/execute.js';
import { headerLines, readRecording } from '../replay/recording.js';
import { readScript, scriptLines, type Script } from '../replay/script.js';
import { shrink } from '../shrink/shrink.js';
import { VERSION } from '../run.js';
import type { Sink } from '../util/sink.js';
import { UsageError } from './fsxargs.js';
import { errText } from '../util/errors.js';
import { parseRunArgv } from './main.js';

interface Io {
  stdout: Sink;
  stderr: Sink;
}

/** `daxfsx shrink F.fsxops`: the smallest run that fails the way the recorded one did. */
export async function runShrinkCli(argv: string[], io: Io): Promise<number> {
  const cmd = new Command('daxfsx shrink')
    .description('cut a failing run recorded by daxfsx down to a minimal reproducer (delta debugging; every candidate is a real run)')
    .argument('<ops>', 'the .fsxops file of a failing daxfsx run')
    .addOption(new Option('--out <file>', 'where the minimal run goes (default: F.min.fsxops beside the input)'))
    .addOption(new Option('--summary <file>', 'JSON: signature, opsBefore/After, flipsBefore/After, stepsBefore/After, seconds'))
    .addOption(new Option('--budget <seconds>', 'stop shrinking after this long').default('60'))
    .helpOption('--help', 'show this help')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s), outputError: () => {} });
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
  const o = cmd.opts<{ out?: string; summary?: string; budget: string }>();
  const budget = Number(o.budget);
  if (!Number.isFinite(budget) || budget <= 0) {
    io.stderr.write(`daxfsx shrink: option --budget: must be a number of seconds greater than 0 (got ${o.budget})\n`);
    return 90;
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    io.stderr.write(`daxfsx shrink: ${file}: ${errText(e)}\n`);
    return 93;
  }
  const rec = readRecording(text);
  if (!rec || !rec.origin) {
    io.stderr.write(`daxfsx shrink: ${file}: no '# daxfsx-args' lines: shrinking needs a run daxfsx recorded (run it with daxfsx first)\n`);
    return 100;
  }
  const parsed = parseOps(text, file);
  if (parsed.error) {
    io.stderr.write(`daxfsx shrink: ${parsed.error.message}\n`);
    return 100;
  }
  let ra;
  try {
    ra = parseRunArgv(rec.args, 'shrink');
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`daxfsx shrink: ${file}: its recorded options do not parse: ${e.message}\n`);
      return 90;
    }
    throw e;
  }
  if (ra.model.flippers !== 1 && ra.model.flip) {
    io.stderr.write('daxfsx shrink: runs with more than one flipper cannot be shrunk yet\n');
    return 90;
  }

  let script: Script;
  let exec: Exec;
  if (rec.origin.kind === 'script') {
    script = readScript(text, parsed.ops, rec.args);
    exec = executeScript(ra, script);
  } else {
    // draw the recorded run again, keeping every op and where each flip came in
    const r = recordGenerated(ra);
    script = { ...r.script, args: rec.args };
    exec = r.exec;
  }
  if (!exec.signature) {
    io.stderr.write(`daxfsx shrink: ${file}: the recorded run does not fail, nothing to shrink\n`);
    return 1;
  }
  io.stderr.write(`daxfsx shrink: ${exec.verdict} in ${exec.signature}: ${script.ops.length} ops, ${script.flips.length} flips, ${exec.steps} steps; shrinking...\n`);
  const res = shrink(ra, { ...script, args: rec.args }, exec.signature, budget * 1000);
  let out = o.out ?? file.replace(/(\.fsxops)?$/, '.min.fsxops').replace(/\.min\.min\./, '.min.');
  // never write over the input
  if (resolve(out) === resolve(file)) out = file.replace(/(\.fsxops)?$/, '.shrunk.fsxops');
  const lines = [
    ...headerLines(rec.args, { kind: 'script', seed: ra.fsx.seed, firstOp: 1 }, `${VERSION}: minimal run for ${exec.verdict} in ${exec.signature}; replay: daxfsx --replay-ops=THIS_FILE FILE`),
    ...scriptLines(res.script),
  ];
  try {
    writeFileSync(out, lines.join('\n') + '\n');
  } catch (e) {
    io.stderr.write(`daxfsx shrink: ${out}: ${(e as Error).message}\n`);
    return 93;
  }
  const w = (s: string): void => io.stdout.write(s + '\n');
  const what = exec.verdict === exec.signature ? exec.verdict : `${exec.verdict} in ${exec.signature}`;
  w(`Shrunk ${what}: ${res.before.ops} -> ${res.after.ops} ops, ${res.before.flips} -> ${res.after.flips} flips, ${res.before.steps} -> ${res.after.steps} steps, ${res.candidates} candidate runs in ${res.seconds.toFixed(2)} s`);
  w('Operations:');
  res.script.ops.forEach((op, i) => w(`  ${i + 1}: ${OP_NAMES[op.real ?? op.op]} ${op.args.slice(0, op.nrArgs - 1).map((v) => '0x' + (v >>> 0).toString(16)).join(' ')}`));
  w('Flips:');
  for (const f of res.script.flips) w(`  xfs_io toggles the DAX flag when fsx is ${f.op === 0 ? 'starting up' : `in op ${f.op}`}, at its preemption point ${f.tick}${f.choices ? ` (then ${f.choices.length} recorded scheduling choices)` : ''}`);
  for (const l of explain(res.exec.events, res.exec.failingPid, `op ${res.exec.ops}`)) w(l);
  w('Timeline:');
  const failing = res.exec.failingPid === 6052 ? 'fsx:6052' : `xfs_io:${res.exec.failingPid}`;
  const rows = timelineRows(res.exec.events, { step: res.exec.steps, task: failing, text: what, stack: '' });
  for (const l of renderTimeline(rows, 100, (_k, s) => s)) w(l);
  w(`Minimal run: ${out}`);
  w(`Replay: daxfsx --replay-ops=${out} FILE`);
  if (o.summary) {
    const summary = {
      signature: exec.signature,
      opsBefore: res.before.ops,
      opsAfter: res.after.ops,
      flipsBefore: res.before.flips,
      flipsAfter: res.after.flips,
      stepsBefore: res.before.steps,
      stepsAfter: res.after.steps,
      seconds: Number(res.seconds.toFixed(3)),
    };
    try {
      writeFileSync(o.summary, JSON.stringify(summary, null, 2) + '\n');
    } catch (e) {
      io.stderr.write(`daxfsx shrink: ${o.summary}: ${(e as Error).message}\n`);
    }
  }
  return 0;
}
