#!/usr/bin/env node
// The `phasegate` command: runs the TypeScript CLI directly (tsx), as everything in development does.
import { register } from 'tsx/esm/api';

register();
await import('../scripts/cli.ts');
