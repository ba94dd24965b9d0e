import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FirestoreIndexesFileSchema, type FirestoreIndex } from '../store/indexes.ts';

/** `firestore.indexes.json` at the repository root (from the sources, or from `dist/`). */
export function declaredIndexesPath(): string {
  const candidates = ['../../firestore.indexes.json', '../../../firestore.indexes.json'].map((rel) => fileURLToPath(new URL(rel, import.meta.url)));
  const found = candidates.find((path) => existsSync(path));
  if (!found) throw new Error(`firestore.indexes.json not found (looked at ${candidates.join(', ')})`);
  return found;
}

export function readIndexesFile(path: string): FirestoreIndex[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = FirestoreIndexesFileSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${path}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data.indexes;
}

let cached: FirestoreIndex[] | undefined;
/** The declared composite indexes, read once. */
export function declaredIndexes(): FirestoreIndex[] {
  return (cached ??= readIndexesFile(declaredIndexesPath()));
}
