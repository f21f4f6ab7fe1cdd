/**
 * Minimal type shim for y-leveldb 0.2.0, whose exports map has no `types`
 * entry. Only what bench/ref-server.ts uses is declared.
 */
declare module 'y-leveldb' {
  import type * as Y from 'yjs';

  export const PREFERRED_TRIM_SIZE: number;

  export class LeveldbPersistence {
    constructor(location: string, opts?: { Level?: unknown; levelOptions?: Record<string, unknown> });
    /** Tail of the internal transaction queue (private in y-leveldb, used to wait for writes to drain). */
    tr: Promise<unknown>;
    getYDoc(docName: string): Promise<Y.Doc>;
    storeUpdate(docName: string, update: Uint8Array): Promise<number>;
    flushDocument(docName: string): Promise<void>;
    getStateVector(docName: string): Promise<Uint8Array>;
    clearDocument(docName: string): Promise<void>;
    destroy(): Promise<void>;
  }
}
