import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Servers and child processes per test file; two workers suit a 2-core CI machine.
    pool: 'forks',
    maxWorkers: 2,
    // Temporary: one retry while a rare empty-stdout flake in test/cli.test.ts is investigated (see issue notes).
    retry: 1,
  },
});
