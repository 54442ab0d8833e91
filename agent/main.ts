#!/usr/bin/env -S node --max-semi-space-size=4
// The flag: see nodeFlags.ts.
import { main } from './cli.js';

await main();
