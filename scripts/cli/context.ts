import type { Connection } from '../lib/connection.ts';

export interface CliContext {
  connection(): Promise<Connection>;
  print(text: string): void;
}
