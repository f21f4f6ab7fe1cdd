/** huddle as a library: join a project as a full peer, or use the model on any Y.Doc. */
export { HuddlePeer, joinProject, DEFAULT_URL, type JoinOptions } from './peer/peer.js';
export { RelayConnection, type ConnectionOptions, type ConnectionStatus, type SocketFactory } from './peer/connection.js';
export { Presence, type PresenceTransport, type AcquireOptions, type AcquireResult, type LockLostReason } from './peer/presence.js';
export { connectionTransport, hostedTransport } from './peer/transports.js';
export * from './model/context.js';
export * from './model/locks.js';
export * from './model/session.js';
export * from './model/view.js';
export { normalizePattern, patternsOverlap, isGlob, PatternError } from './model/paths.js';
export { newId, shortId } from './model/ids.js';
export { projectNameProblem, toProjectName } from './protocol/names.js';
export { DocStore } from './store/doc-store.js';
export type { Persistence, StoredDoc, StoreStats } from './store/persistence.js';
export { LeveldbPersistence } from './store/leveldb-persistence.js';
export { MemoryPersistence } from './store/memory-persistence.js';
export { shouldCompact, type CompactionDecision } from './store/compaction.js';
export type { Origin } from './protocol/origin.js';
