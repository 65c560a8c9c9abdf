import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** A system program some tests need, how to tell it is there, and how to install it. */
export interface SystemTool {
  /** What it is, for the skip reason (`native tesseract with chi_sim`). */
  name: string;
  /** True when it is installed. */
  available: () => boolean;
  /** How to install it (`apt-get install tesseract-ocr tesseract-ocr-chi-sim`). */
  install: string;
}

/** Python 3 with scikit-learn at /usr/bin/python3 (the metric and solver cross-checks). */
export const SKLEARN: SystemTool = {
  name: 'scikit-learn (/usr/bin/python3 -c "import sklearn")',
  available: () => existsSync('/usr/bin/python3') && spawnSync('/usr/bin/python3', ['-c', 'import sklearn'], { stdio: 'ignore' }).status === 0,
  install: 'apt-get install python3-sklearn',
};

/** Debian's Chromium at /usr/bin/chromium (the report rendered in a real browser). */
export const CHROMIUM: SystemTool = {
  name: 'Chromium (/usr/bin/chromium)',
  available: () => existsSync('/usr/bin/chromium'),
  install: 'apt-get install chromium fonts-wqy-microhei',
};

/** Native tesseract with Simplified Chinese data (the tesseract-cli OCR engine). */
export const TESSERACT: SystemTool = {
  name: 'native tesseract with chi_sim',
  available: () => {
    const r = spawnSync('tesseract', ['--list-langs'], { encoding: 'utf8' });
    return r.status === 0 && /\bchi_sim\b/.test(`${r.stdout}${r.stderr}`);
  },
  install: 'apt-get install tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-eng',
};

/**
 * Linux UTS and PID namespaces (`unshare` of util-linux, as root): a process that sees another host
 * name and its own process tree, the way a process on another node of a cluster does, on this
 * machine's filesystem (the shared-filesystem tests).
 */
export const NAMESPACES: SystemTool = {
  name: 'Linux UTS and PID namespaces (unshare --uts --pid as root)',
  available: () => spawnSync('unshare', ['--uts', '--pid', '--fork', '--mount-proc', 'true'], { stdio: 'ignore' }).status === 0,
  install: 'apt-get install util-linux, and run the tests as root (CAP_SYS_ADMIN)',
};

/**
 * Whether a test that needs a system program runs here: `skip` when the program is missing, with
 * `note` to append to the test's title, so the skip shows its reason in the test report. When
 * `LLM_IR_REQUIRE_SYSTEM=1` (set by `.ci/run`, which installs every such program) nothing is skipped:
 * a missing program fails its tests instead of hiding them.
 *
 * @example
 * ```ts
 * const py = needs(SKLEARN);
 * it.skipIf(py.skip)(`matches scikit-learn${py.note}`, () => { ... });
 * ```
 */
export function needs(tool: SystemTool): { skip: boolean; note: string } {
  if (process.env['LLM_IR_REQUIRE_SYSTEM'] === '1' || tool.available()) return { skip: false, note: '' };
  return { skip: true, note: ` [skipped: ${tool.name} is not installed; ${tool.install}]` };
}
