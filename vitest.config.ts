import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Servers and child processes per test file; two workers suit a 2-core CI machine.
    pool: 'forks',
    maxWorkers: 2,
  },
});
