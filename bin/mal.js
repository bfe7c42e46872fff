#!/usr/bin/env node
// The compiled CLI lives in dist/ (`npm run build`, run by `npm install`).
import { main } from '../dist/workers/mal.js';

process.exitCode = await main(process.argv.slice(2));
