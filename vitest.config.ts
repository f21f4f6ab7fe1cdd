import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

// Tests never touch the user's own state folder (server files, the repositories `huddle init`
// remembers): every run gets its own, unless a test sets one of its own.
const stateHome = process.env.HUDDLE_TEST_STATE_HOME ?? fs.mkdtempSync(path.join(os.tmpdir(), 'huddle-test-state-'));

// `npm test` leaves out the integration tests that drive the real agent CLIs and a cluster of relay
// processes on PostgreSQL (about half the suite's time on 2 cores), and the record commands' JSON round
// trips through some forty CLI processes (issue 15: slow many-process paths leave the quick suite);
// `npm run test:integration` runs them (HUDDLE_INTEGRATION=1), and CI (.ci/run) runs both.
const INTEGRATION = ['test/agents-e2e/**', 'test/pg-serve.test.ts', 'test/pg-cluster.test.ts', 'test/cli-roundtrip.test.ts'];
const integration = process.env.HUDDLE_INTEGRATION === '1';

export default defineConfig({
  test: {
    include: integration ? INTEGRATION.map((p) => (p.endsWith('/**') ? `${p}/*.test.ts` : p)) : ['test/**/*.test.ts'],
    exclude: integration ? ['**/node_modules/**'] : ['**/node_modules/**', ...INTEGRATION],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    env: { XDG_STATE_HOME: stateHome },
    // Servers and child processes per test file; two workers suit a 2-core CI machine.
    pool: 'forks',
    maxWorkers: 2,
    // Each worker keeps the modules it has loaded from one test file to the next: loading huddle's
    // modules again for every file cost about 0.9 s of CPU per file, some 50 s of the ~300 CPU-seconds
    // the suite takes on 2 cores (issue 15). Tests share no state through them: every test starts its own servers and
    // peers on port 0 in its own temp folders, and restores what it changes (fake timers, spies, env).
    // The integration run (few files, each minutes long) keeps one fresh worker per file.
    isolate: integration,
  },
});
