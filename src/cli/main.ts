#!/usr/bin/env node
// The qkvm command line: thin commands over the API in src/api.ts.
import { hideBin } from 'yargs/helpers';
import { buildParser } from './parser.js';

await buildParser(hideBin(process.argv)).parseAsync();
