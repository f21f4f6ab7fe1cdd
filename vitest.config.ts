import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

// Tests never touch the user's own state folder (server files, the repositories `huddle init`
// remembers): every run gets its own, unless a test sets one of its own.
const stateHome = process.env.HUDDLE_TEST_STATE_HOME ?? fs.mkdtempSync(path.join(os.tmpdir(), 'huddle-test-state-'));

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    env: { XDG_STATE_HOME: stateHome },
    // Servers and child processes per test file; two workers suit a 2-core CI machine.
    pool: 'forks',
    maxWorkers: 2,
  },
});
