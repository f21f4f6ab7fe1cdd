/** The PostgreSQL test cluster (test/fixtures/pg-cluster.ts, compiled so that the benchmark can start one too). */
export * from './fixtures/pg-cluster.js';
