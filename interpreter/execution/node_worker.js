'use strict';
// The JavaScript worker: runs cells in the global context so their globals persist, like the node REPL.
// Usage: node node_worker.js CELL_FD DONE_FD. A cell is UTF-8 code ended by a NUL byte; after each cell the
// worker writes its exit status as a decimal line to DONE_FD.

const fs = require('fs');
const net = require('net');
const path = require('path');
const util = require('util');
const vm = require('vm');
const { createRequire } = require('module');

const [cellFd, doneFd] = process.argv.slice(2).map(Number);
let cellNumber = 0;
let stopWaiting = null; // rejects the promise a cell's value is waiting on, when SIGINT comes
let queue = Promise.resolve();

// Cells run as scripts, where `require` is not defined; resolve modules from the working directory as the REPL does.
globalThis.require = createRequire(path.join(process.cwd(), '[cell]'));

// A running cell is stopped by `breakOnSigint`; an idle worker, or one awaiting a cell's promise, must survive.
process.on('SIGINT', () => {
  if (stopWaiting) stopWaiting();
});
// An error thrown later by a cell's callback is shown, and the worker keeps its state.
process.on('uncaughtException', (error) => console.error(describe(error)));

// What a cell may replace to silence later cells (`console.log = () => {}`): put back after each cell, saying so.
const standard = [
  [console, 'console', ['log', 'info', 'warn', 'error', 'debug']],
  [process.stdout, 'process.stdout', ['write']],
  [process.stderr, 'process.stderr', ['write']],
].flatMap(([owner, name, keys]) => keys.map((key) => ({ owner, name: `${name}.${key}`, key, value: owner[key] })));

function restoreStandard() {
  const changed = standard.filter(({ owner, key, value }) => owner[key] !== value);
  for (const { owner, key, value } of changed) owner[key] = value;
  if (changed.length > 0) {
    const names = changed.map(({ name }) => name).join(', ');
    process.stdout.write(`[this cell replaced ${names}; restored for the next cell]\n`);
  }
}

function describe(error) {
  if (!(error instanceof Error)) return `Uncaught ${util.inspect(error)}`;
  const lines = String(error.stack).split('\n');
  // The frames from `vm` down are this worker's, not the cell's.
  const ours = lines.findIndex((line) => line.includes('node:vm') || line.includes(__filename));
  return (ours === -1 ? lines : lines.slice(0, ours)).join('\n');
}

function interruptible(promise) {
  return new Promise((resolve, reject) => {
    stopWaiting = () => reject(new Error('Interrupted while waiting for the promise'));
    promise.then(resolve, reject);
  }).finally(() => {
    stopWaiting = null;
  });
}

function flushed(stream) {
  return new Promise((resolve) => stream.write('', resolve));
}

async function runCell(code) {
  cellNumber += 1;
  let status = 0;
  try {
    let value = vm.runInThisContext(code, { filename: `<cell ${cellNumber}>`, breakOnSigint: true });
    if (value !== null && typeof value === 'object' && typeof value.then === 'function') {
      value = await interruptible(value);
    }
    restoreStandard();
    if (value !== undefined) console.log(util.inspect(value));
  } catch (error) {
    restoreStandard();
    console.error(describe(error));
    status = 1;
  }
  // On some platforms writes to a pipe are asynchronous; the status must not overtake the output.
  await flushed(process.stdout);
  await flushed(process.stderr);
  fs.writeSync(doneFd, `${status}\n`);
}

let pending = Buffer.alloc(0);
const cells = new net.Socket({ fd: cellFd, readable: true, writable: false });
cells.on('data', (data) => {
  pending = Buffer.concat([pending, data]);
  let end;
  while ((end = pending.indexOf(0)) !== -1) {
    const code = pending.subarray(0, end).toString('utf8');
    pending = pending.subarray(end + 1);
    queue = queue.then(() => runCell(code));
  }
});
cells.on('end', () => process.exit(0));
