import { defineConfig } from 'vitest/config';

/** Test config shared by every workspace: resolve `@llm-ir/*` to source, no build needed. */
export const shared = defineConfig({
  resolve: { conditions: ['@llm-ir/source'] },
  ssr: { resolve: { conditions: ['@llm-ir/source'] } },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    env: { DOTENV_CONFIG_QUIET: 'true', TURBO_TELEMETRY_DISABLED: '1' },
  },
});
