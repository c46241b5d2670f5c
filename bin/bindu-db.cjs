#!/usr/bin/env node
'use strict';
// bindu-db's bin: it runs the CLI bundle (dist/cli.cjs: the command line and --help) and, once a
// command is named, the commands' bundle (dist/commands.cjs, node-pg included), each from the V8
// code cache the build made of it (dist/*.cjs.cache), so that no start parses or compiles them:
// about a third of the CPU of a command on PostgreSQL. --help deserializes only the small one. A
// cache V8 refuses (another Node version, other V8 flags) costs nothing but that compilation.
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const vm = require('node:vm');

const dist = path.join(__dirname, '..', 'dist');
function runBundle(name) {
  const file = path.join(dist, name);
  let cachedData;
  try {
    // V8 checks only a cache's source length: a bundle edited after its cache was made (a hotfix)
    // would run as the cache has it. An install keeps the build's order, or one time for all.
    if (fs.statSync(`${file}.cache`).mtimeMs >= fs.statSync(file).mtimeMs) cachedData = fs.readFileSync(`${file}.cache`);
  } catch {
    // Not built with one: V8 compiles the bundle as it runs.
  }
  // The name traces give the bundle: a script from a code cache keeps the name it was compiled
  // under (scripts/build.ts compiles it under this one), whatever name it is then run under.
  let script;
  try {
    script = new vm.Script(Module.wrap(fs.readFileSync(file, 'utf8')), { filename: `bindu-db/dist/${name}`, cachedData });
  } catch (err) {
    // A partial install or an interrupted build: said in one line, as every error is.
    const what = err.code === 'ENOENT' ? 'is missing' : err instanceof SyntaxError ? 'is damaged' : `cannot be read (${err.code ?? err.message})`;
    process.stderr.write(`error: ${file} ${what}: this install of bindu-db is incomplete\nhint: reinstall it (npm install bindu-db), or in a clone run npm run build\n`);
    process.exit(1);
  }
  const bundle = new Module(file, module);
  bundle.filename = file;
  script.runInThisContext()(bundle.exports, Module.createRequire(file), bundle, file, dist);
  return bundle.exports;
}
// On Node 20 a script compiled from a code cache loses import() ("A dynamic import callback was not
// specified"): the bundles import their ES modules (ora, Inquirer, PGlite, tsx) through this one.
globalThis[Symbol.for('bindu-db.import')] = (specifier) => import(specifier);
// The CLI bundle loads the commands' bundle through this.
globalThis[Symbol.for('bindu-db.bundle')] = runBundle;
runBundle('cli.cjs');
