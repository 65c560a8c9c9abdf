// `npm run notebooks`: executes every notebook in notebooks/ headlessly on the Deno Jupyter kernel
// (`jupyter nbconvert --execute`, which fails on the first cell error) and fails if any notebook does.
//   npm run notebooks                  execute into a temporary folder (CI)
//   npm run notebooks -- --write       execute in place: the committed notebooks get fresh outputs
//   npm run notebooks -- --html DIR    also render each executed notebook to DIR/<name>.html
//   npm run notebooks -- quickstart    only the notebooks whose file name contains "quickstart"
// Needs Jupyter's nbconvert (Debian: python3-nbconvert python3-nbclient jupyter-client) and the
// `deno` npm package (a devDependency). The kernelspec is written to a temporary JUPYTER_PATH folder,
// so nothing is installed into the user's Jupyter.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { useCjkFont } from './cjk-font.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = join(root, 'notebooks');
const args = process.argv.slice(2);
const write = args.includes('--write');
const htmlAt = args.indexOf('--html');
const htmlDir = htmlAt >= 0 ? args[htmlAt + 1] : undefined;
const only = args.filter((a, i) => !a.startsWith('--') && !(htmlAt >= 0 && i === htmlAt + 1));

/** The Python that has nbconvert: Debian's (the one `apt-get install python3-nbconvert` fills), else PATH's. */
function nbconvertPython() {
  for (const python of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(python, ['-m', 'nbconvert', '--version'], { encoding: 'utf8' });
    if (r.status === 0) return python;
  }
  return undefined;
}

const python = nbconvertPython();
if (!python) {
  console.error('notebooks: Jupyter nbconvert is not installed (Debian: apt-get install python3-nbconvert python3-nbclient jupyter-client)');
  process.exit(1);
}
const deno = join(root, 'node_modules', 'deno', 'deno');
if (!existsSync(deno)) {
  console.error('notebooks: the deno binary is missing (npm ci installs the `deno` devDependency)');
  process.exit(1);
}

// the notebooks import the packages' built JavaScript, as a user of the published packages does
const build = spawnSync('npx', ['turbo', 'run', 'build', '--output-logs=errors-only'], { cwd: root, stdio: 'inherit', env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' } });
if (build.status !== 0) process.exit(build.status ?? 1);

// the kernelspec `deno jupyter --install` writes (deno 2.9 cli/tools/jupyter/install.rs), in a folder of our own
const jupyterPath = mkdtempSync(join(tmpdir(), 'llm-ir-jupyter-'));
mkdirSync(join(jupyterPath, 'kernels', 'deno'), { recursive: true });
writeFileSync(join(jupyterPath, 'kernels', 'deno', 'kernel.json'), JSON.stringify({ argv: [deno, 'jupyter', '--kernel', '--conn', '{connection_file}'], display_name: 'Deno', language: 'typescript' }, null, 2));
const out = write ? dir : mkdtempSync(join(tmpdir(), 'llm-ir-notebooks-'));
// charts are rendered to PNG in the kernel: the same CJK font on every machine
useCjkFont();
const env = { ...process.env, JUPYTER_PATH: jupyterPath, DENO_NO_UPDATE_CHECK: '1', DENO_NO_PROMPT: '1', NO_COLOR: '1' };

const notebooks = readdirSync(dir)
  .filter((f) => f.endsWith('.ipynb') && (only.length === 0 || only.some((o) => f.includes(o))))
  .sort();
if (notebooks.length === 0) {
  console.error(`notebooks: none matches ${only.join(', ')}`);
  process.exit(1);
}
let failed = 0;
for (const nb of notebooks) {
  const committed = JSON.parse(readFileSync(join(dir, nb), 'utf8'));
  const t0 = performance.now();
  const r = spawnSync(
    python,
    [
      '-m', 'nbconvert', '--to', 'notebook', '--execute',
      '--ExecutePreprocessor.kernel_name=deno', '--ExecutePreprocessor.timeout=900', '--ExecutePreprocessor.record_timing=False',
      '--output-dir', out, join(dir, nb),
    ],
    { cwd: dir, env, encoding: 'utf8' },
  );
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  if (r.status !== 0) {
    failed++;
    console.error(`FAIL ${nb} (${seconds} s)\n${r.stderr.split('\n').slice(-40).join('\n')}`);
    continue;
  }
  // a cell that printed an error without throwing still fails the run
  const executed = JSON.parse(readFileSync(join(out, nb), 'utf8'));
  const errors = executed.cells.flatMap((c) => (c.outputs ?? []).filter((o) => o.output_type === 'error'));
  if (errors.length) {
    failed++;
    console.error(`FAIL ${nb}: ${errors.map((e) => `${e.ename}: ${e.evalue}`).join('; ')}`);
    continue;
  }
  // a cell whose committed version shows output must show output again (a lost message is a failure)
  const lost = executed.cells.flatMap((c, i) => (c.cell_type === 'code' && (committed.cells[i]?.outputs?.length ?? 0) > 0 && (c.outputs ?? []).length === 0 ? [i + 1] : []));
  if (lost.length) {
    failed++;
    console.error(`FAIL ${nb}: cell(s) ${lost.join(', ')} produced no output (the committed notebook shows some)`);
    continue;
  }
  console.error(`ok   ${nb} (${seconds} s, ${executed.cells.filter((c) => c.cell_type === 'code').length} code cells)`);
  if (htmlDir) {
    mkdirSync(htmlDir, { recursive: true });
    const h = spawnSync(python, ['-m', 'nbconvert', '--to', 'html', '--output-dir', htmlDir, join(out, nb)], { env, encoding: 'utf8' });
    if (h.status !== 0) {
      failed++;
      console.error(`FAIL ${nb} to HTML\n${h.stderr}`);
    }
  }
}
rmSync(jupyterPath, { recursive: true, force: true });
if (!write) rmSync(out, { recursive: true, force: true });
console.error(`notebooks: ${notebooks.length - failed} of ${notebooks.length} executed without errors`);
process.exit(failed ? 1 : 0);
