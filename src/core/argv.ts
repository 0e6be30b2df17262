import { defaultConfig, type RunConfig } from './config.js';
import { DESIGNS, isDesignName, sameDesign } from '../kernel/designs.js';
import type { FsxOptions } from '../fsx/options.js';

type Fsx = FsxOptions;

/** fsx's numeric options, as the command line spells them. */
const NUMS: [keyof Fsx, string, (v: number) => number][] = [
  ['numops', '-N', (v) => v],
  ['maxfilelen', '-l', (v) => v],
  ['maxoplen', '-o', (v) => v],
  ['readbdy', '-r', (v) => v],
  ['writebdy', '-w', (v) => v],
  ['truncbdy', '-t', (v) => v],
  ['style', '-s', (v) => v],
  ['closeprob', '-c', (v) => v],
  ['simulatedopcount', '-b', (v) => v + 1],
  ['debugstart', '-D', (v) => v],
  ['progressinterval', '-p', (v) => v],
];

/** fsx's on/off options: the letter given when the field has this value. */
const FLAGS: [keyof Fsx, boolean, string][] = [
  ['quiet', true, '-q'],
  ['randomoplen', false, '-O'],
  ['lite', true, '-L'],
  ['keepExisting', true, '-k'],
  ['debug', true, '-d'],
  ['checkFile', true, '-X'],
  ['flush', true, '-f'],
  ['doFsync', true, '-y'],
  ['prealloc', true, '-x'],
  ['mappedReads', false, '-R'],
  ['mappedWrites', false, '-W'],
  ['fallocateCalls', false, '-F'],
  ['keepSizeCalls', false, '-K'],
  ['unshareRangeCalls', false, '-u'],
  ['punchHoleCalls', false, '-H'],
  ['zeroRangeCalls', false, '-z'],
  ['collapseRangeCalls', false, '-C'],
  ['insertRangeCalls', false, '-I'],
  ['cloneRangeCalls', false, '-J'],
  ['dedupeRangeCalls', false, '-B'],
  ['copyRangeCalls', false, '-E'],
  ['exchangeRangeCalls', false, '-0'],
  ['atomicWrites', false, '-a'],
  ['sizechecks', false, '-n'],
];

/**
 * A config as the options that give it (those that differ from the
 * defaults; the seed always): what daxfsx prints so that a person can run
 * a sweep's seed, a scenario or a saved failure as a plain command.
 */
export function argvOf(c: RunConfig, designFile?: string): string[] {
  return [...fsxArgvOf(c.fsx), ...modelArgvOf(c.model, designFile)];
}

/** fsx's own options for a config's fsx part (what xfstests fsx takes), the seed always. */
export function fsxArgvOf(f: Fsx): string[] {
  const d = defaultConfig();
  const out: string[] = ['-S', String(f.seed)];
  for (const [k, opt, show] of NUMS) if (f[k] !== d.fsx[k]) out.push(opt, String(show(f[k] as number)));
  if (f.durationSec) out.push('--duration', String(f.durationSec));
  if (f.monitorstart !== d.fsx.monitorstart || f.monitorend !== d.fsx.monitorend) out.push('-m', `${Math.max(0, f.monitorstart)}:${f.monitorend < 0 ? 0 : f.monitorend}`);
  const monitor = out.includes('-m');
  for (const [k, when, opt] of FLAGS) {
    // -m turns on -d and -n itself
    if (monitor && (opt === '-d' || opt === '-n')) continue;
    if (f[k] === when && f[k] !== d.fsx[k]) out.push(opt);
  }
  if (f.oDirect) out.push('-Z');
  else if (!f.dontcacheIo) out.push('-T');
  if (f.filldata) out.push('-g', String.fromCharCode(f.filldata));
  if (f.polluteEof) out.push('-e', '1');
  if (f.logid !== undefined) out.push('-j', f.logid);
  return out;
}

/** daxfsx's options for the model part; `designFile`: where a design that is not built in was read from. */
function modelArgvOf(m: RunConfig['model'], designFile?: string): string[] {
  const dm = defaultConfig().model;
  const out: string[] = [];
  if (m.fs !== dm.fs) out.push('--fs', m.fs);
  if (!sameDesign(m.kernel, dm.kernel)) out.push('--kernel', isDesignName(m.kernel.name) && sameDesign(DESIGNS[m.kernel.name], m.kernel) ? m.kernel.name : (designFile ?? `${m.kernel.name}.json`));
  if (m.initialDax !== dm.initialDax) out.push('--initial-dax', m.initialDax ? 'on' : 'off');
  if (!m.flip) out.push('--no-flip');
  if (m.flippers !== dm.flippers) out.push('--flippers', String(m.flippers));
  if (m.flipWeight !== dm.flipWeight) out.push('--flip-weight', String(m.flipWeight));
  if (m.flipInterval !== dm.flipInterval) out.push('--flip-interval', String(m.flipInterval));
  if (m.sched !== dm.sched) out.push('--sched', m.sched);
  if (m.pctDepth !== dm.pctDepth) out.push('--pct-depth', String(m.pctDepth));
  if (m.panicOnWarn) out.push('--panic-on-warn');
  if (m.hungSteps !== dm.hungSteps) out.push('--hung-steps', String(m.hungSteps));
  if (m.mount !== dm.mount) out.push('--mount', m.mount);
  if (m.dropCaches !== dm.dropCaches) out.push('--drop-caches', String(m.dropCaches));
  if (m.dropCachesInterval !== dm.dropCachesInterval) out.push('--drop-caches-interval', String(m.dropCachesInterval));
  if (m.writeback !== dm.writeback) out.push('--writeback', String(m.writeback));
  if (m.closeOpenDrop !== dm.closeOpenDrop) out.push('--closeopen-drop', String(m.closeOpenDrop));
  return out;
}
