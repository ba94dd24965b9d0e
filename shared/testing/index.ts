/**
 * phasegate's testing entry point (`import … from 'phasegate/testing'`): in-memory fakes of the
 * store and the publisher that refuse what Firestore and Pub/Sub refuse (a path as an id, a
 * document over 1 MiB, a query without its index), and a clock a test moves by hand.
 */
export { MemoryStore } from './memory-store.ts';
export { MemoryPublisher } from './memory-publisher.ts';
export { manualClock } from './manual-clock.ts';
