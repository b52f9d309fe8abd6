'use strict';
// The JavaScript worker: runs cells in the global context so their globals persist, like the node REPL.
// Usage: node node_worker.js CELL_FD DONE_FD. A cell is UTF-8 code ended by a NUL byte; after each cell the
// worker writes its exit status as a decimal line to DONE_FD. The protocol never goes through fds 0-2: a cell
// that closes or replaces them still ends, and they are put back for the next cell.

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
process.on('uncaughtException', (error) => quietly(() => console.error(describe(error))));

// Copies of fds 0-2, opened anew (node has no dup): a cell's `fs.closeSync(1)` leaves ours open. Reopening
// /dev/fd/N of a pipe opens that same pipe; they are close-on-exec, so the cells' processes never hold them.
// Where /dev/fd cannot reopen one (a socket, say), that one is not put back.
const descriptors = [0, 1, 2].flatMap((fd) => {
  try {
    return [{ fd, copy: reopen(fd) }];
  } catch {
    return [];
  }
});

function reopen(fd) {
  return fs.openSync(`/dev/fd/${fd}`, fd === 0 ? 'r' : 'w');
}

// What a cell may replace to silence later cells (`console.log = () => {}`): put back after each cell, saying so.
const standard = [
  [console, 'console', ['log', 'info', 'warn', 'error', 'debug']],
  [process.stdout, 'process.stdout', ['write']],
  [process.stderr, 'process.stderr', ['write']],
].flatMap(([owner, name, keys]) => keys.map((key) => ({ owner, name: `${name}.${key}`, key, value: owner[key] })));

function restoreStandard() {
  const changed = restoreDescriptors();
  for (const entry of standard.filter(({ owner, key, value }) => owner[key] !== value)) {
    entry.owner[entry.key] = entry.value;
    changed.push(entry.name);
  }
  if (changed.length > 0) {
    // Straight to fd 1, which is ours again: the stream on it may be the part that broke.
    const line = `[this cell replaced or closed ${changed.join(', ')}; restored for the next cell]\n`;
    quietly(() => fs.writeSync(1, line));
  }
}

// Closed or replaced ones are closed, then reopened lowest first: open() takes the lowest free number, so each
// lands on its own (node's streams on fds 1 and 2 then write to the pipe again).
function restoreDescriptors() {
  const moved = descriptors.filter(({ fd, copy }) => !sameFile(fd, copy));
  for (const { fd } of moved) quietly(() => fs.closeSync(fd));
  for (const { fd, copy } of moved) {
    const opened = reopen(copy);
    if (opened !== fd) fs.closeSync(opened); // a lower one is closed and has no copy: this one stays closed
  }
  return moved.map(({ fd }) => `fd ${fd}`);
}

function sameFile(fd, copy) {
  try {
    const [now, then] = [fs.fstatSync(fd), fs.fstatSync(copy)];
    return now.dev === then.dev && now.ino === then.ino;
  } catch {
    return false; // closed
  }
}

// For what the worker itself writes, which must not stop it reporting the cell's end.
function quietly(action) {
  try {
    action();
  } catch {
    // nowhere left to say it
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
  let status = 1;
  try {
    status = await evaluate(code);
    // On some platforms writes to a pipe are asynchronous; the status must not overtake the output.
    await flushed(process.stdout);
    await flushed(process.stderr);
  } finally {
    fs.writeSync(doneFd, `${status}\n`);
  }
}

async function evaluate(code) {
  let outcome;
  try {
    let value = vm.runInThisContext(code, { filename: `<cell ${cellNumber}>`, breakOnSigint: true });
    if (value !== null && typeof value === 'object' && typeof value.then === 'function') {
      value = await interruptible(value);
    }
    outcome = { status: 0, show: () => value !== undefined && console.log(util.inspect(value)) };
  } catch (error) {
    outcome = { status: 1, show: () => console.error(describe(error)) };
  }
  quietly(restoreStandard);
  quietly(outcome.show);
  return outcome.status;
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
