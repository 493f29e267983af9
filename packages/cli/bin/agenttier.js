#!/usr/bin/env node
// The `agenttier` command: runs the TypeScript sources directly through tsx (there is no build step).
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
