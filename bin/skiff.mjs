#!/usr/bin/env node
// The skiff command: runs the TypeScript sources through tsx.
import { register } from 'tsx/esm/api';
register();
await import('../cli/main.ts');
