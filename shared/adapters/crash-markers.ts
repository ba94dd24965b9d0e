import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { CrashMarkers } from '../runtime/faults.ts';

/**
 * Crash counts in marker files (each crash's `markerFile` holds how many times it fired), so the
 * instance that restarts after an injected crash does not crash again. A missing or unreadable
 * file counts as none.
 */
export function fileCrashMarkers(): CrashMarkers {
  const fired = (file: string) => (existsSync(file) ? Number(readFileSync(file, 'utf8')) || 0 : 0);
  return {
    fired,
    recordFiring: (file) => writeFileSync(file, String(fired(file) + 1)),
  };
}
