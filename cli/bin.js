#!/usr/bin/env node
// The `tributary` command. The project runs its TypeScript directly through tsx (no build step), so the bin
// registers the loader and hands over to cli/main.ts.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
