// The fault suite (`npm run faults`): builds a corpus of bad inputs from real rows and images, runs
// every CLI stage on it as a user would (the `llm-ir` launcher in a child process), kills runs with
// SIGKILL and SIGTERM and reruns them, and prints one table (case, stage, expected, observed, pass)
// and `N passed, N failed`. Every case has a time limit: a hang is a failure, never a wait.
//
//   npm run faults                       # the table on stdout; exit 1 when a case fails
//   npm run faults -- --write FAULTS.md  # also writes the table into FAULTS.md
//   npm run faults -- --only run         # cases whose stage or name contains "run"
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { intentRow, sceneRow } from '@llm-ir/core/testing';
import { startFakeOpenAI } from '@llm-ir/distill/testing';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LAUNCHER = join(ROOT, 'apps/cli/bin/llm-ir.js');
const MIRE = resolve(ROOT, '../shared/datasets/www2025-mire');

const { values: flags } = parseArgs({ options: { write: { type: 'string' }, only: { type: 'string' }, keep: { type: 'boolean', default: false } } });

// ---------------------------------------------------------------------------------------------
// running the CLI

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  seconds: number;
  timedOut: boolean;
}

/** Starts `llm-ir <args>` through its launcher, in its own process group. */
function start(args: readonly string[], env: Record<string, string> = {}): { child: ChildProcess; done: Promise<Result> } {
  const t0 = performance.now();
  const child = spawn(process.execPath, [LAUNCHER, ...args], { cwd: WORK, env: { ...process.env, LLM_IR_DEBUG: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => void (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => void (stderr += d.toString()));
  const done = new Promise<Result>((res) => child.on('close', (code, signal) => res({ code, signal, stdout, stderr, seconds: (performance.now() - t0) / 1000, timedOut: false })));
  return { child, done };
}

/** Runs `llm-ir <args>` to its end, or kills its whole process group at `timeoutMs`. */
async function llmIr(args: readonly string[], options: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<Result> {
  const { child, done } = start(args, options.env);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child, 'SIGKILL');
  }, options.timeoutMs ?? 120_000);
  const r = await done;
  clearTimeout(timer);
  return { ...r, timedOut };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

/** Pids of live processes whose command line mentions `needle` (Linux /proc). */
function processesWith(needle: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (cmd.includes(needle) && Number(d) !== process.pid) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

async function waitFor(test: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await test()) return true;
    await sleep(100);
  }
  return test();
}

const json = async (file: string) => JSON.parse(await readFile(file, 'utf8'));
const lines = async (file: string) => (existsSync(file) ? (await readFile(file, 'utf8')).split('\n').filter(Boolean) : []);
const jsonl = async (file: string) => (await lines(file)).map((l) => JSON.parse(l) as Record<string, unknown>);
const brief = (r: Result) => `${r.timedOut ? 'TIMED OUT, ' : ''}exit ${r.code ?? r.signal}, ${r.seconds.toFixed(1)} s`;
const firstError = (r: Result) => (/error \[([a-z-]+)\]/.exec(r.stderr)?.[1] ?? '');

// ---------------------------------------------------------------------------------------------
// the corpus

let WORK = '';
const C = {
  images: '',
  train: '',
  test: '',
  badTrain: '',
  malformed: '',
  emptyArray: '',
  zeroBytes: '',
  bomCrlf: '',
  oversized: '',
  cache: '',
};
/** Bad rows appended to the training rows: id -> the error code a stage must report for it. */
const BAD_ROWS: Record<string, string> = {};

async function buildCorpus(): Promise<void> {
  WORK = await mkdtemp(join(tmpdir(), 'llm-ir-faults-'));
  C.images = join(WORK, 'images');
  C.cache = join(WORK, 'cache');
  await mkdir(C.images);
  const rows = (await json(join(MIRE, 'train.json'))) as Array<{ id: string; instruction: string; output: string; image: string[] }>;
  const scene = rows.filter((r) => r.instruction.startsWith('Picture'));
  const intent = rows.filter((r) => !r.instruction.startsWith('Picture'));
  const train = [...scene.slice(0, 40), ...intent.slice(0, 40)];
  const test = [...scene.slice(40, 52), ...intent.slice(40, 52)];
  for (const name of new Set([...train, ...test].flatMap((r) => r.image))) await copyFile(join(MIRE, 'images', name), join(C.images, name));
  const good = scene[0]!.image[0]!;
  const bytes = await readFile(join(C.images, good));
  // broken images, each made from a real one or by hand
  await writeFile(join(C.images, 'truncated.jpg'), bytes.subarray(0, Math.floor(bytes.length / 2)));
  await writeFile(join(C.images, 'zero.jpg'), Buffer.alloc(0));
  const png = Buffer.from(await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } }).png().toBuffer());
  png.writeUInt32BE(20000, 16); // IHDR width and height: 20000 x 20000 pixels claimed, no data behind
  png.writeUInt32BE(20000, 20);
  await writeFile(join(C.images, 'huge.png'), png);
  await writeFile(join(C.images, 'not-an-image.jpg'), 'just text, pretending to be a JPEG\n');
  execFileSync('mkfifo', [join(C.images, 'fifo.jpg')]);
  await writeFile(join(WORK, 'outside.jpg'), bytes);
  await symlink(join(WORK, 'outside.jpg'), join(C.images, 'link-out.jpg'));
  await symlink(good, join(C.images, 'link-in.jpg'));
  const badImages: Record<string, string> = {
    'truncated.jpg': 'image-truncated',
    'zero.jpg': 'image-empty',
    'huge.png': 'image-too-large',
    'not-an-image.jpg': 'image-corrupt',
    'fifo.jpg': 'image-unsupported',
    'link-out.jpg': 'path-escape',
    '../../../../../../dev/zero': 'path-escape',
    '/etc/passwd': 'path-escape',
    'missing.jpg': 'image-missing',
  };
  const bad: unknown[] = [];
  for (const [i, [name, code]] of Object.entries(badImages).entries()) {
    bad.push(sceneRow(`bad-image-${i}`, name));
    BAD_ROWS[`bad-image-${i}`] = code;
  }
  bad.push(sceneRow('unknown-label', good, '不存在的标签'));
  BAD_ROWS['unknown-label'] = 'unknown-label';
  bad.push(intentRow('placeholders', ['用户: <image>', '客服: 您好', '用户: <image>'], [good]));
  BAD_ROWS['placeholders'] = 'placeholder-mismatch';
  bad.push({ ...train[1]!, output: train[1]!.output });
  BAD_ROWS[train[1]!.id] = 'duplicate-id';
  bad.push({ id: 'no-instruction', input: '', output: '退款页面', image: [good] });
  BAD_ROWS['no-instruction'] = 'invalid-row';
  bad.push(sceneRow('link-in', 'link-in.jpg')); // a link inside the folder is a good image
  C.train = join(WORK, 'train.json');
  C.badTrain = join(WORK, 'train-bad.json');
  C.test = join(WORK, 'test.json');
  await writeFile(C.train, JSON.stringify(train, null, 1));
  await writeFile(C.badTrain, JSON.stringify([...train, ...bad], null, 1));
  await writeFile(C.test, JSON.stringify(test, null, 1));
  // a syntax error after the 5th row
  const text = JSON.stringify(test, null, 1);
  let at = -1;
  for (let k = 0, depth = 0; k < text.length; k++) {
    if (text[k] === '{') depth++;
    if (text[k] === '}' && --depth === 0 && ++at === 4) {
      at = k + 1;
      break;
    }
  }
  C.malformed = join(WORK, 'malformed.json');
  await writeFile(C.malformed, `${text.slice(0, at)},\n {"id": "broken", "instruction": oops}${text.slice(at)}`);
  C.emptyArray = join(WORK, 'empty.json');
  await writeFile(C.emptyArray, '[]\n');
  C.zeroBytes = join(WORK, 'zero.json');
  await writeFile(C.zeroBytes, '');
  C.bomCrlf = join(WORK, 'bom-crlf.json');
  await writeFile(C.bomCrlf, `\ufeff${text.replace(/\n/g, '\r\n')}`);
  C.oversized = join(WORK, 'oversized.jsonl');
  const big = { ...test[0]!, id: 'oversized', input: 'x'.repeat(80 * 1024 * 1024) };
  await writeFile(C.oversized, `${JSON.stringify(test[1])}\n${JSON.stringify(big)}\n${JSON.stringify(test[2])}\n`);
}

// ---------------------------------------------------------------------------------------------
// the cases

interface Case {
  name: string;
  stage: string;
  expected: string;
  /** Returns what was observed and whether it is what was expected. */
  run(): Promise<{ observed: string; pass: boolean }>;
  timeoutMs?: number;
}

const cases: Case[] = [];
const add = (c: Case) => cases.push(c);

/** `llm-ir run` arguments: the bad training rows and the baseline arm unless told otherwise. */
function runArgs(out: string, o: { arm?: string; train?: string; trainImages?: string; test?: string; cache?: string; more?: string[] } = {}): string[] {
  return ['run', '--arm', o.arm ?? 'baseline', '--train', o.train ?? C.badTrain, '--train-images', o.trainImages ?? C.images, '--test', o.test ?? C.test, '--test-images', C.images, '--out', out, '--cache', o.cache ?? C.cache, ...(o.more ?? [])];
}

/** Starts a run and returns once it has opened its run folder and worked for 3 s (mid-OCR on a cold cache). */
async function startMidRun(args: readonly string[], out: string): Promise<ReturnType<typeof start>> {
  const started = start(args);
  await waitFor(() => existsSync(join(out, 'run.json')), 60_000);
  await sleep(3000);
  return started;
}

add({
  name: 'bad rows and images (FIFO, /dev/zero, links out, 20000x20000, truncated, ...)',
  stage: 'run',
  expected: 'exit 2 in bounded time; every bad row and image in errors.jsonl with its reason; a summary line; status partial',
  async run() {
    const out = join(WORK, 'run-bad');
    const r = await llmIr(runArgs(out));
    const errors = await jsonl(join(out, 'errors.jsonl'));
    const byCode = new Map<string, number>();
    for (const e of errors) byCode.set(String(e['code']), (byCode.get(String(e['code'])) ?? 0) + 1);
    const wanted = new Map<string, number>();
    for (const code of Object.values(BAD_ROWS)) wanted.set(code, (wanted.get(code) ?? 0) + 1);
    const missing = [...wanted].filter(([code, n]) => (byCode.get(code) ?? 0) < n).map(([code, n]) => `${code} x${n - (byCode.get(code) ?? 0)}`);
    const status = existsSync(join(out, 'run.json')) ? (await json(join(out, 'run.json'))).status : 'none';
    const summaryLine = /skipped/.test(r.stderr);
    return {
      observed: `${brief(r)}; ${errors.length} errors (${[...byCode].map(([c, n]) => `${c} ${n}`).join(', ')}); not listed: ${missing.join(', ') || 'none'}; status ${status}; summary line ${summaryLine ? 'yes' : 'no'}`,
      pass: r.code === 2 && !r.timedOut && missing.length === 0 && status === 'partial' && summaryLine && existsSync(join(out, 'submission.csv')),
    };
  },
});

const badTests: Array<[string, () => string, string]> = [
  ['malformed --test (syntax error mid-array)', () => C.malformed, 'split-unreadable'],
  ['empty --test ([])', () => C.emptyArray, 'split-empty'],
  ['0-byte --test', () => C.zeroBytes, 'split-unreadable'],
];
for (const [k, [what, file, code]] of badTests.entries()) {
  add({
    name: what,
    stage: 'run',
    expected: 'exit 1, no submission.csv, status failed',
    async run() {
      const out = join(WORK, `run-bad-test-${k}`);
      const r = await llmIr(runArgs(out, { train: C.train, test: file() }));
      const status = existsSync(join(out, 'run.json')) ? (await json(join(out, 'run.json'))).status : 'none';
      const sub = existsSync(join(out, 'submission.csv'));
      return { observed: `${brief(r)}; ${firstError(r) || r.stderr.trim().split('\n').pop()}; submission ${sub ? 'written' : 'none'}; status ${status}`, pass: r.code === 1 && firstError(r) === code && !sub && status === 'failed' };
    },
  });
}

add({
  name: 'missing --train-images folder',
  stage: 'run',
  expected: 'exit 1 (images-missing), no submission.csv',
  async run() {
    const out = join(WORK, 'run-no-images');
    const r = await llmIr(runArgs(out, { train: C.train, trainImages: join(WORK, 'nope') }));
    const sub = existsSync(join(out, 'submission.csv'));
    return { observed: `${brief(r)}; ${firstError(r)}; submission ${sub ? 'written' : 'none'}`, pass: r.code === 1 && firstError(r) === 'images-missing' && !sub };
  },
});

add({
  name: 'rerun of the same configuration into the same folder',
  stage: 'run',
  expected: 'resumes as attempt 2: same predictions, errors.jsonl and metrics.jsonl not doubled, new startedAt',
  async run() {
    const out = join(WORK, 'run-bad');
    const before = await json(join(out, 'run.json'));
    const predictions = await readFile(join(out, 'predictions.jsonl'), 'utf8');
    const r = await llmIr(runArgs(out));
    const after = await json(join(out, 'run.json'));
    const errors = (await lines(join(out, 'errors.jsonl'))).length;
    const metrics = (await lines(join(out, 'metrics.jsonl'))).length;
    const same = (await readFile(join(out, 'predictions.jsonl'), 'utf8')) === predictions;
    return {
      observed: `${brief(r)}; errorCount ${before.errorCount} -> ${after.errorCount} (${errors} lines); metrics ${metrics} lines; attempts ${after.attempts?.length ?? 0}; predictions ${same ? 'identical' : 'DIFFERENT'}; startedAt ${after.startedAt !== before.startedAt ? 'new' : 'kept'}`,
      pass: r.code === 2 && after.errorCount === before.errorCount && errors === before.errorCount && metrics === 3 && after.attempts?.length === 1 && same && after.startedAt !== before.startedAt,
    };
  },
});

add({
  name: 'another arm and dataset into an existing run folder',
  stage: 'run',
  expected: 'exit 1 (run-exists) and the folder untouched; with --force: replaced, noted in run.json',
  async run() {
    const out = join(WORK, 'run-bad');
    const before = await readFile(join(out, 'run.json'), 'utf8');
    const r = await llmIr(runArgs(out, { arm: 'ocr-train', train: C.train }));
    const untouched = (await readFile(join(out, 'run.json'), 'utf8')) === before;
    const forced = await llmIr(runArgs(out, { train: C.train, more: ['--force'] }));
    const after = await json(join(out, 'run.json'));
    return {
      observed: `${brief(r)} (${firstError(r)}); folder ${untouched ? 'untouched' : 'CHANGED'}; --force: ${brief(forced)}, replaced ${after.replaced ? 'noted' : 'not noted'}, errorCount ${after.errorCount}`,
      pass: r.code === 1 && firstError(r) === 'run-exists' && untouched && forced.code === 0 && after.replaced !== undefined && after.errorCount === 0,
    };
  },
});

add({
  name: 'two concurrent runs into one folder',
  stage: 'run',
  expected: 'one runs, the other is refused at once (run-locked); records not mixed',
  async run() {
    const out = join(WORK, 'run-concurrent');
    // an OCR arm on a cold cache: the first run is still going when the second starts
    const args = runArgs(out, { arm: 'ocr-train-infer', cache: join(WORK, 'cache-concurrent') });
    const first = start(args);
    await waitFor(() => existsSync(join(out, '.lock')), 60_000);
    const b = await llmIr(args);
    const a = await first.done;
    const codes = [a.code, b.code].sort();
    const locked = [a, b].filter((r) => firstError(r) === 'run-locked').length;
    const info = await json(join(out, 'run.json'));
    return { observed: `exits ${codes.join(', ')}; ${locked} refused with run-locked; status ${info.status}, errorCount ${info.errorCount}, errors.jsonl ${(await lines(join(out, 'errors.jsonl'))).length} lines`, pass: codes[0] === 1 && codes[1] === 2 && locked === 1 && info.status === 'partial' && info.errorCount === (await lines(join(out, 'errors.jsonl'))).length };
  },
});

add({
  name: 'SIGTERM during a run (OCR arm, cold cache), then a rerun',
  stage: 'run',
  expected: 'exit 143, run.json cancelled with an end time, lock released; the rerun resumes and succeeds',
  timeoutMs: 300_000,
  async run() {
    const out = join(WORK, 'run-sigterm');
    const args = runArgs(out, { arm: 'ocr-train-infer', train: C.train, cache: join(WORK, 'cache-sigterm') });
    const { child, done } = await startMidRun(args, out);
    killGroup(child, 'SIGTERM');
    const r = await done;
    const info = await json(join(out, 'run.json'));
    const lock = existsSync(join(out, '.lock'));
    const again = await llmIr(args, { timeoutMs: 240_000 });
    const resumed = await json(join(out, 'run.json'));
    return {
      observed: `${brief(r)}${r.code === 143 ? '' : ` (${r.stderr.trim().split('\n').slice(-3).join(' / ')})`}; status ${info.status}, endedAt ${info.endedAt ? 'set' : 'missing'}, lock ${lock ? 'LEFT' : 'released'}; rerun ${brief(again)}, status ${resumed.status}, attempts ${resumed.attempts?.length ?? 0}`,
      pass: r.code === 143 && info.status === 'cancelled' && Boolean(info.endedAt) && !lock && again.code === 0 && resumed.status === 'succeeded' && resumed.attempts?.[0]?.status === 'cancelled',
    };
  },
});

add({
  name: 'SIGKILL of the launcher (the process a user started) during a run',
  stage: 'run',
  expected: 'the CLI process dies with it (nothing left writing); a rerun takes over the lock and gives the same predictions as an uninterrupted run',
  timeoutMs: 300_000,
  async run() {
    const out = join(WORK, 'run-sigkill');
    const args = runArgs(out, { arm: 'ocr-train-infer', train: C.train, cache: join(WORK, 'cache-sigkill') });
    const { child, done } = await startMidRun(args, out);
    const workers = () => processesWith(out);
    const before = workers().length;
    child.kill('SIGKILL'); // the launcher only, as `kill -9 <pid>` would
    await done;
    const gone = await waitFor(() => workers().length === 0, 15_000);
    const left = workers();
    for (const pid of left) process.kill(pid, 'SIGKILL');
    const again = await llmIr(args, { timeoutMs: 240_000 });
    const clean = await llmIr(runArgs(join(WORK, 'run-sigkill-clean'), { arm: 'ocr-train-infer', train: C.train, cache: join(WORK, 'cache-sigkill') }), { timeoutMs: 240_000 });
    const same = (await readFile(join(out, 'predictions.jsonl'), 'utf8')) === (await readFile(join(WORK, 'run-sigkill-clean', 'predictions.jsonl'), 'utf8'));
    return {
      observed: `${before} process(es) on the run before; after the kill ${gone ? 'none left' : `${left.length} LEFT RUNNING`}; rerun ${brief(again)}; predictions ${same ? 'identical' : 'DIFFERENT'} to an uninterrupted run (${brief(clean)})`,
      pass: before > 0 && gone && again.code === 0 && clean.code === 0 && same,
    };
  },
});

// ---------------------------------------------------------------------------------------------
// data

add({
  name: 'bad corpus (every kind of bad row and image)',
  stage: 'data validate',
  expected: 'exit 1; one line per problem naming the row and its reason; every planted problem found',
  async run() {
    const r = await llmIr(['data', 'validate', C.badTrain, '--images', C.images, '--json']);
    const problems = (JSON.parse(r.stdout || '{"problems":[]}') as { problems: Array<{ code: string; id?: string }> }).problems;
    const codes = new Set(problems.map((p) => p.code));
    const missing = [...new Set(Object.values(BAD_ROWS))].filter((c) => !codes.has(c));
    return { observed: `${brief(r)}; ${problems.length} problems; missing kinds: ${missing.join(', ') || 'none'}`, pass: r.code === 1 && missing.length === 0 };
  },
});

add({
  name: 'syntax error in the middle of a JSON array',
  stage: 'data inspect',
  expected: 'the rows before the fault are kept (5), the broken row is named (element 5); exit 2',
  async run() {
    const r = await llmIr(['data', 'inspect', C.malformed, '--json']);
    const out = JSON.parse(r.stdout || '{}') as { rows?: number; badRows?: Array<{ row?: number; code: string }> };
    return { observed: `${brief(r)}; ${out.rows ?? '?'} rows loaded; bad rows ${JSON.stringify(out.badRows?.map((b) => `${b.code}@${b.row}`))}`, pass: r.code === 2 && out.rows === 5 && out.badRows?.[0]?.row === 5 };
  },
});

add({
  name: 'BOM and CRLF line ends',
  stage: 'data inspect',
  expected: 'read like the clean file (24 rows), exit 0',
  async run() {
    const r = await llmIr(['data', 'inspect', C.bomCrlf, '--json']);
    const out = JSON.parse(r.stdout || '{}') as { rows?: number };
    return { observed: `${brief(r)}; ${out.rows ?? '?'} rows`, pass: r.code === 0 && out.rows === 24 };
  },
});

add({
  name: 'an 80 MB JSONL row between two good rows',
  stage: 'data inspect',
  expected: 'row-too-large naming line 2, the two good rows kept, exit 2, in seconds (linear reading)',
  async run() {
    const r = await llmIr(['data', 'inspect', C.oversized, '--json'], { timeoutMs: 60_000 });
    const out = JSON.parse(r.stdout || '{}') as { rows?: number; badRows?: Array<{ row?: number; code: string }> };
    return { observed: `${brief(r)}; ${out.rows ?? '?'} rows; bad rows ${JSON.stringify(out.badRows?.map((b) => `${b.code}@${b.row}`))}`, pass: r.code === 2 && out.rows === 2 && out.badRows?.[0]?.code === 'row-too-large' && out.badRows[0].row === 1 && r.seconds < 30 };
  },
});

// ---------------------------------------------------------------------------------------------
// ocr

add({
  name: 'bad images (FIFO, /dev/zero, links out, 20000x20000, truncated, ...)',
  stage: 'ocr dataset',
  expected: 'exit 2 in bounded time; each bad image in the errors file with its rows and reason',
  timeoutMs: 240_000,
  async run() {
    const out = join(WORK, 'ocr', 'bad.jsonl');
    const r = await llmIr(['ocr', 'dataset', '--in', C.badTrain, '--images', C.images, '--out', out, '--cache', C.cache, '--workers', '2'], { timeoutMs: 230_000 });
    const errors = await jsonl(`${out}.errors.jsonl`);
    const wanted = Object.values(BAD_ROWS).filter((c) => c.startsWith('image-') || c === 'path-escape').length;
    return { observed: `${brief(r)}; ${errors.length} failed images recorded (${wanted} planted)`, pass: r.code === 2 && errors.length === wanted };
  },
});

add({
  name: 'a truncated OCR cache entry',
  stage: 'ocr dataset',
  expected: 'detected, named on stderr, recomputed; output identical to the first run',
  timeoutMs: 300_000,
  async run() {
    const first = join(WORK, 'ocr', 'bad.jsonl');
    if (!existsSync(first)) await llmIr(['ocr', 'dataset', '--in', C.badTrain, '--images', C.images, '--out', first, '--cache', C.cache, '--workers', '2'], { timeoutMs: 230_000 });
    const entries = readdirSync(join(C.cache, 'ocr'), { recursive: true }).map(String).filter((f) => /[0-9a-f]{64}$/.test(f));
    const victim = join(C.cache, 'ocr', entries[0]!);
    const whole = await readFile(victim);
    await writeFile(victim, whole.subarray(0, Math.floor(whole.length / 3)));
    const out = join(WORK, 'ocr', 'again.jsonl');
    const r = await llmIr(['ocr', 'dataset', '--in', C.badTrain, '--images', C.images, '--out', out, '--cache', C.cache, '--workers', '2']);
    const same = (await readFile(out, 'utf8')) === (await readFile(first, 'utf8'));
    const named = r.stderr.includes(victim);
    // the entry is computed again: the same lines (its `ms` timing is the new run's)
    const linesOf = (b: Buffer) => JSON.stringify((JSON.parse(b.toString('utf8')) as { lines: unknown }).lines);
    const repaired = await readFile(victim).then((b) => linesOf(b) === linesOf(whole), () => false);
    return { observed: `${brief(r)}; entry ${named ? 'named' : 'NOT named'}; repaired ${repaired ? 'yes' : 'no'}; output ${same ? 'identical' : 'DIFFERENT'}`, pass: r.code === 2 && named && same && repaired };
  },
});

add({
  name: 'two concurrent `ocr dataset` runs on one cold cache',
  stage: 'ocr dataset',
  expected: 'every image OCRed once in all (the cache lock), identical outputs',
  timeoutMs: 300_000,
  async run() {
    const cache = join(WORK, 'cache-ocr-concurrent');
    const args = (o: string) => ['ocr', 'dataset', '--in', C.train, '--images', C.images, '--out', join(WORK, 'ocr', o), '--cache', cache, '--workers', '1'];
    const [a, b] = await Promise.all([llmIr(args('a.jsonl'), { timeoutMs: 290_000 }), llmIr(args('b.jsonl'), { timeoutMs: 290_000 })]);
    const images = new Set(((await json(C.train)) as Array<{ image: string[] }>).flatMap((r) => r.image)).size;
    const fromCache = (r: Result) => Number(/(\d+) image\(s\) from the cache/.exec(r.stderr)?.[1] ?? -1);
    const computed = 2 * images - fromCache(a) - fromCache(b);
    const same = (await readFile(join(WORK, 'ocr', 'a.jsonl'), 'utf8')) === (await readFile(join(WORK, 'ocr', 'b.jsonl'), 'utf8'));
    return { observed: `${brief(a)} / ${brief(b)}; ${images} images, OCRed ${computed} times in all; outputs ${same ? 'identical' : 'DIFFERENT'}`, pass: a.code === 0 && b.code === 0 && computed === images && same };
  },
});

add({
  name: '--workers abc',
  stage: 'ocr',
  expected: 'exit 1 with a config-invalid error naming the flag',
  async run() {
    const r = await llmIr(['ocr', '--workers', 'abc', join(C.images, 'zero.jpg')]);
    return { observed: `${brief(r)}; ${r.stderr.trim().split('\n')[0]}`, pass: r.code === 1 && firstError(r) === 'config-invalid' && r.stderr.includes('--workers') };
  },
});

// ---------------------------------------------------------------------------------------------
// augment, index, distill train

add({
  name: 'bad rows; then a rerun into the same folder',
  stage: 'augment',
  expected: 'rows with refused images and unknown labels dropped and listed in skipped.jsonl, every image train.json names exists; a clean rerun leaves no stale image or skipped file',
  async run() {
    const out = join(WORK, 'augment');
    const r = await llmIr(['augment', '--in', C.badTrain, '--images', C.images, '--out', out, '--factor', '2', '--cache', C.cache]);
    const rows = (await json(join(out, 'train.json'))) as Array<{ id: string; image: string[] }>;
    const dangling = rows.flatMap((x) => x.image).filter((n) => !existsSync(join(out, 'images', n)));
    const skipped = await jsonl(join(out, 'train.json.skipped.jsonl'));
    const unknownListed = skipped.some((x) => x['code'] === 'unknown-label');
    const again = await llmIr(['augment', '--in', C.train, '--images', C.images, '--out', out, '--factor', '2', '--cache', C.cache]);
    const rows2 = (await json(join(out, 'train.json'))) as Array<{ image: string[] }>;
    const named = new Set(rows2.flatMap((x) => x.image));
    const stale = readdirSync(join(out, 'images')).filter((f) => !named.has(f));
    const staleSkipped = existsSync(join(out, 'train.json.skipped.jsonl'));
    return {
      observed: `${brief(r)}; ${skipped.length} skipped (unknown label ${unknownListed ? 'listed' : 'NOT listed'}); ${dangling.length} dangling image names; rerun ${brief(again)}: ${stale.length} stale images, old skipped file ${staleSkipped ? 'LEFT' : 'gone'}`,
      pass: r.code === 2 && unknownListed && dangling.length === 0 && again.code === 0 && stale.length === 0 && !staleSkipped,
    };
  },
});

add({
  name: 'lineage on disk after augmentation',
  stage: 'augment',
  expected: 'train.samples.jsonl keeps parentId: a split of it keeps every variant with its source',
  async run() {
    const out = join(WORK, 'augment');
    const samples = await jsonl(join(out, 'train.samples.jsonl'));
    const variants = samples.filter((x) => typeof x['parentId'] === 'string').length;
    const r = await llmIr(['data', 'split', join(out, 'train.samples.jsonl'), '--out', join(WORK, 'augment-split'), '--test-fraction', '0.3']);
    const ids = async (f: string) => new Set((await readFile(f, 'utf8')).match(/"id": ?"[^"]+"/g)?.map((m) => m.replace(/.*"([^"]+)"$/, '$1').replace(/#aug\d+$/, '')) ?? []);
    const a = await ids(join(WORK, 'augment-split', 'train.json'));
    const b = await ids(join(WORK, 'augment-split', 'test.json'));
    const leaked = [...a].filter((x) => b.has(x)).length;
    return { observed: `${variants} variants with parentId; split ${brief(r)}; ${leaked} source rows on both sides`, pass: variants > 0 && r.code === 0 && leaked === 0 };
  },
});

add({
  name: 'bad rows',
  stage: 'index build',
  expected: 'exit 2; bad rows (unknown label included) named on stderr and left out; the index built',
  async run() {
    const r = await llmIr(['index', 'build', '--db', join(WORK, 'db'), '--exemplars', C.badTrain]);
    const n = Number(/(\d+) exemplars/.exec(r.stdout)?.[1] ?? -1);
    return { observed: `${brief(r)}; ${n} exemplars; unknown label ${r.stderr.includes('unknown-label') ? 'named' : 'NOT named'}`, pass: r.code === 2 && n > 0 && r.stderr.includes('unknown-label') };
  },
});

add({
  name: 'bad rows and images',
  stage: 'distill train',
  expected: 'exit 2; bad rows and unreadable images named on stderr; a student written',
  async run() {
    const out = join(WORK, 'student.json');
    const r = await llmIr(['distill', 'train', '--train', C.badTrain, '--images', C.images, '--out', out]);
    const images = (r.stderr.match(/image statistics left at the training mean/g) ?? []).length;
    return { observed: `${brief(r)}; ${images} image problems reported; student ${existsSync(out) ? 'written' : 'missing'}`, pass: r.code === 2 && images >= 9 && existsSync(out) };
  },
});

// ---------------------------------------------------------------------------------------------
// distill label against the fake OpenAI-compatible server

const labelRows = async () => {
  const file = join(WORK, 'label-rows.json');
  if (!existsSync(file)) await writeFile(file, JSON.stringify(((await json(C.test)) as unknown[]).slice(10, 14)));
  return file;
};
const KEY = 'sk-fault-suite-secret-0123456789';

for (const mode of ['unreachable', '401', 'non-label answers'] as const) {
  add({
    name: `teacher ${mode}`,
    stage: 'distill label',
    expected: 'exit 2; every row in errors.jsonl with its kind (HTTP status, the answer); a summary on stderr; the key nowhere',
    async run() {
      const server = await startFakeOpenAI({ apiKey: KEY, answer: () => ({ text: '抱歉，我无法判断这张图片', tokenProbs: { '抱': 1 } }) });
      const url = mode === 'unreachable' ? 'http://127.0.0.1:9/v1' : server.url;
      const out = join(WORK, `label-${mode.replace(/ /g, '-')}`);
      try {
        const r = await llmIr(['distill', 'label', '--teacher', `openai:${url}#fake-model`, '--in', await labelRows(), '--images', C.images, '--out', out], { env: { OPENAI_API_KEY: mode === '401' ? 'wrong-key' : KEY }, timeoutMs: 170_000 });
        const errors = await jsonl(join(out, 'errors.jsonl'));
        const kinds = [...new Set(errors.map((e) => `${e['code']}${e['status'] ? `/${e['status']}` : ''}`))];
        const leaked = [r.stdout, r.stderr, ...(await Promise.all(['errors.jsonl', 'journal.jsonl'].map((f) => readFile(join(out, f), 'utf8').catch(() => ''))))].some((t) => t.includes(KEY));
        const want = mode === 'unreachable' ? 'request-failed' : mode === '401' ? 'unauthorized/401' : 'unmatched-answer';
        return { observed: `${brief(r)}; errors.jsonl ${errors.length} rows (${kinds.join(', ')}); summary ${/not labelled/.test(r.stderr) ? 'yes' : 'no'}; key ${leaked ? 'LEAKED' : 'nowhere'}`, pass: r.code === 2 && errors.length === 4 && kinds.length === 1 && kinds[0] === want && !leaked };
      } finally {
        await server.close();
      }
    },
  });
}

add({
  name: 'Retry-After: 86400',
  stage: 'distill label',
  expected: 'the wait cut to the backoff cap (30 s) and said so on stderr; every row labelled',
  timeoutMs: 150_000,
  async run() {
    const server = await startFakeOpenAI({ script: ['429'], retryAfterSeconds: 86400 });
    try {
      const r = await llmIr(['distill', 'label', '--teacher', `openai:${server.url}#fake-model`, '--in', await labelRows(), '--images', C.images, '--out', join(WORK, 'label-retry'), '--concurrency', '1'], { timeoutMs: 140_000 });
      return { observed: `${brief(r)}; ${r.stderr.includes('86400 s') && r.stderr.includes('backoff cap') ? 'cap said on stderr' : 'NOTHING said'}; ${/(\d+) of 4 rows kept/.exec(r.stdout)?.[1] ?? '?'} kept`, pass: r.code === 0 && r.stderr.includes('backoff cap') && r.seconds < 100 };
    } finally {
      await server.close();
    }
  },
});

add({
  name: 'rerun with another model; a torn journal line; a key echoed in an answer',
  stage: 'distill label',
  expected: 'the new model is asked for every row; the torn line does not glue onto the next answer; the echoed key redacted',
  async run() {
    const server = await startFakeOpenAI({ apiKey: KEY, answer: (req) => ({ text: `A (your header was ${req.authorization})`, tokenProbs: { A: 1 } }) });
    const out = join(WORK, 'label-rerun');
    const args = (model: string) => ['distill', 'label', '--teacher', `openai:${server.url}#${model}`, '--in', '', '--images', C.images, '--out', out, '--concurrency', '1'];
    try {
      const rows = await labelRows();
      const run = (model: string) => llmIr(args(model).map((a) => (a === '' ? rows : a)), { env: { OPENAI_API_KEY: KEY } });
      const a = await run('model-a');
      const afterA = server.requests.length;
      await writeFile(join(out, 'journal.jsonl'), `${await readFile(join(out, 'journal.jsonl'), 'utf8')}{"key":"torn`);
      const b = await run('model-b');
      const askedB = server.requests.length - afterA;
      const journal = await lines(join(out, 'journal.jsonl'));
      const glued = journal.filter((l) => l.startsWith('{"key":"torn') && l.length > 20).length;
      const leaked = (await readFile(join(out, 'journal.jsonl'), 'utf8')).includes(KEY) || (await readFile(join(out, 'train.json'), 'utf8')).includes(KEY);
      return { observed: `model-a ${brief(a)} (${afterA} requests); model-b ${brief(b)}: ${askedB} requests; ${glued} glued lines; key ${leaked ? 'LEAKED' : 'redacted'}`, pass: a.code === 0 && b.code === 0 && askedB >= 4 && glued === 0 && !leaked };
    } finally {
      await server.close();
    }
  },
});

// ---------------------------------------------------------------------------------------------
// eval

add({
  name: '0-byte predictions CSV',
  stage: 'eval',
  expected: 'exit 1 (predictions-empty), no score',
  async run() {
    const f = join(WORK, 'empty.csv');
    await writeFile(f, '');
    const r = await llmIr(['eval', '--gold', C.test, '--pred', f]);
    return { observed: `${brief(r)}; ${firstError(r)}; ${r.stdout.includes('average') ? 'a score printed' : 'no score'}`, pass: r.code === 1 && firstError(r) === 'predictions-empty' && !r.stdout.includes('average') };
  },
});

add({
  name: 'labels outside the label set; ids padded with spaces',
  stage: 'eval',
  expected: 'scored, with a warning giving the count of each',
  async run() {
    const gold = (await json(C.test)) as Array<{ id: string; output: string }>;
    const f = join(WORK, 'odd.csv');
    const rowsCsv = gold.map((g, i) => `${i < 3 ? ` ${g.id} ` : g.id},${i >= 3 && i < 8 ? '不存在的标签' : g.output}`);
    await writeFile(f, `id,predict\n${rowsCsv.join('\n')}\n`);
    const r = await llmIr(['eval', '--gold', C.test, '--pred', f, '--resamples', '0']);
    const off = /(\d+) prediction\(s\) with a label outside/.exec(r.stderr)?.[1];
    const padded = /(\d+) id\(s\) match a gold id only without/.exec(r.stderr)?.[1];
    return { observed: `${brief(r)}; warnings: off-label ${off ?? 'none'}, padded ids ${padded ?? 'none'}`, pass: r.code === 0 && off === '5' && padded === '3' };
  },
});

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  if (!existsSync(join(MIRE, 'train.json'))) {
    console.log(`the fault suite needs the shared data at ${MIRE}: not found`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  await buildCorpus();
  const chosen = cases.filter((c) => !flags.only || `${c.stage} ${c.name}`.includes(flags.only));
  const rows: Array<{ c: Case; observed: string; pass: boolean; seconds: number }> = [];
  for (const c of chosen) {
    const t0 = performance.now();
    let outcome: { observed: string; pass: boolean };
    try {
      const limit = c.timeoutMs ?? 180_000;
      outcome = await Promise.race([c.run(), sleep(limit).then(() => ({ observed: `case timed out after ${limit / 1000} s`, pass: false }))]);
    } catch (error) {
      outcome = { observed: `case threw: ${(error as Error).message.split('\n')[0]}`, pass: false };
    }
    const seconds = (performance.now() - t0) / 1000;
    rows.push({ c, ...outcome, seconds });
    console.error(`${outcome.pass ? 'pass' : 'FAIL'}  [${c.stage}] ${c.name} (${seconds.toFixed(1)} s)\n      ${outcome.observed}`);
  }
  const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const table = [
    '| Case | Stage | Expected | Observed | Result |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${esc(r.c.name)} | ${r.c.stage} | ${esc(r.c.expected)} | ${esc(r.observed)} | ${r.pass ? 'pass' : '**FAIL**'} |`),
  ].join('\n');
  const passed = rows.filter((r) => r.pass).length;
  console.log(table);
  if (flags.write) {
    const doc = `# Fault suite\n\n\`npm run faults\` (also run by \`.ci/run\`) builds a corpus of bad inputs from real rows and images of the shared data, runs every CLI stage on it through the \`llm-ir\` launcher, kills runs and reruns them, and checks each outcome. Every case has a time limit. Result of the last run (${new Date().toISOString().slice(0, 10)}, ${rows.length} cases):\n\n${table}\n\n${passed} passed, ${rows.length - passed} failed\n`;
    await writeFile(flags.write, doc);
  }
  if (!flags.keep) await rm(WORK, { recursive: true, force: true });
  else console.error(`corpus and outputs kept in ${WORK}`);
  console.log(`${passed} passed, ${rows.length - passed} failed`);
  process.exitCode = passed === rows.length ? 0 : 1;
}

await main();
