#!/usr/bin/env node
'use strict';
// bindu-db's bin: it runs the CLI bundle (dist/cli.cjs) from the V8 code cache the build made of
// it (dist/cli.cjs.cache), so that no start parses or compiles the bundle, node-pg included: about
// a third of the CPU of a command on PostgreSQL. A cache V8 refuses (another Node version, other
// V8 flags) costs nothing but that compilation.
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const vm = require('node:vm');

const file = path.join(__dirname, '..', 'dist', 'cli.cjs');
let cachedData;
try {
  cachedData = fs.readFileSync(`${file}.cache`);
} catch {
  // Not built with one: V8 compiles the bundle as it runs.
}
// The name traces give the bundle: a script from a code cache keeps the name it was compiled under
// (scripts/build.ts compiles it under this one), whatever name it is then run under.
const script = new vm.Script(Module.wrap(fs.readFileSync(file, 'utf8')), { filename: 'bindu-db/dist/cli.cjs', cachedData });
// On Node 20 a script compiled from a code cache loses import() ("A dynamic import callback was not
// specified"): the bundle imports its ES modules (ora, Inquirer, PGlite, tsx) through this one.
globalThis[Symbol.for('bindu-db.import')] = (specifier) => import(specifier);
const cli = new Module(file, module);
cli.filename = file;
script.runInThisContext()(cli.exports, Module.createRequire(file), cli, file, path.dirname(file));
