import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const shared = new URL('../../shared/', import.meta.url).pathname;

describe('the kit speaks of partitions, not of the reference domain', () => {
  it('no file of shared/ but Markdown mentions games', () => {
    const files = readdirSync(shared, { recursive: true, encoding: 'utf8' }).filter(
      (f) => !f.endsWith('.md'),
    );
    const hits = files.flatMap((file) => {
      const path = join(shared, file);
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch {
        return []; // a directory
      }
      return text
        .split('\n')
        .flatMap((line, i) =>
          /game/i.test(line) ? [`${relative(shared, path)}:${i + 1}: ${line.trim()}`] : [],
        );
    });
    expect(hits).toEqual([]);
  });
});
