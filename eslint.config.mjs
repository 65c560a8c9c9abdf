// ESLint (flat config) with typescript-eslint: the code rules of this repository. The workspace
// rules a linter does not see (tsconfig references, package shape) stay in scripts/workspaces.mjs;
// dead exports, files and dependencies are knip's (knip.json).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.turbo/**', 'apps/ablation/results/**', '**/__fixtures__/models/**', 'notebooks/**', '.llm-ir-cache/**', 'cv-results/**', 'bench/results/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.mts'],
    rules: {
      // more than four positional parameters: take an options object (STYLE.md)
      'max-params': 'off',
      '@typescript-eslint/max-params': ['error', { max: 4 }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none' }],
      // no absolute path of a development machine in the sources
      'no-restricted-syntax': [
        'error',
        { selector: 'Literal[value=/^\\/(work|home|Users|root)\\//]', message: 'no absolute path of a development machine: take it from an option or resolve it from import.meta.url' },
        { selector: 'TemplateElement[value.raw=/^\\/(work|home|Users|root)\\//]', message: 'no absolute path of a development machine' },
      ],
    },
  },
  {
    // packages and apps use each other only through public entry points
    files: ['packages/**', 'apps/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^@llm-ir(-app)?/[^/]+/src(/|$)', message: "import a package's public entry point (its exports map), not its internals" },
            { regex: '^(\\.\\./)+(packages|apps)/', message: 'import another workspace by its package name, not by path' },
          ],
        },
      ],
    },
  },
);
