import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  FirestoreIndexesFileSchema,
  type FirestoreIndex,
  type FirestoreIndexesFile,
} from '../store/indexes.ts';

/**
 * `firestore.indexes.json` at the repository root: the nearest one above this module, which
 * runs from the sources, from `dist/`, or from a function bundle under `.phasegate/build/`.
 */
export function declaredIndexesPath(): string {
  const looked: string[] = [];
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const candidate = join(dir, 'firestore.indexes.json');
    looked.push(candidate);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir)
      throw new Error(`firestore.indexes.json not found (looked at ${looked.join(', ')})`);
  }
}

export function readIndexesFile(path: string): FirestoreIndex[] {
  return readIndexesFileWhole(path).indexes;
}

/** The whole file: its composite indexes and its field overrides (Firebase's format: TTLs and exemptions). */
export function readIndexesFileWhole(path: string): FirestoreIndexesFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = FirestoreIndexesFileSchema.safeParse(raw);
  if (!parsed.success)
    throw new Error(
      `${path}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return parsed.data;
}

let cached: FirestoreIndex[] | undefined;
/** The declared composite indexes, read once. */
export function declaredIndexes(): FirestoreIndex[] {
  return (cached ??= readIndexesFile(declaredIndexesPath()));
}
