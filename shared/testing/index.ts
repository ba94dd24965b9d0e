/**
 * phasegate's testing entry point (`import … from 'phasegate/testing'`): in-memory fakes of the
 * store and the publisher that refuse what Firestore and Pub/Sub refuse (a path as an id, a
 * document over 1 MiB, a query without its index), a clock a test moves by hand, a whole
 * pipeline wired over them (`memoryPipeline`), and the same pipeline on the emulators
 * (`startOnEmulators`, loaded only when called: it starts processes).
 */
export { MemoryStore } from './memory-store.ts';
export { MemoryPublisher } from './memory-publisher.ts';
export { manualClock } from './manual-clock.ts';
export { memoryPipeline, type MemoryPipeline } from './memory-pipeline.ts';
export { startOnEmulators, type EmulatorPipeline } from './emulator-pipeline.ts';
