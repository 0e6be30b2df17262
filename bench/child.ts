import { runCli } from '../src/cli/main.js';
import { Sink } from '../src/util/sink.js';

/** One measured run in a fresh process: prints {ms, rssKiB, code}. */
const args = process.argv.slice(2);
const t0 = performance.now();
const code = await runCli(args, { stdout: Sink.memory(), stderr: Sink.memory(), isTTY: false, env: {} });
const ms = performance.now() - t0;
process.stdout.write(JSON.stringify({ ms, rssKiB: process.resourceUsage().maxRSS, code }) + '\n');
