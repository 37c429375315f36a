// Helpers of the step-by-step Node peers (sio_client.js, csr_*.js): each step
// prints "ok <name>" when it behaved as expected, "fail <name> <detail>"
// otherwise.
"use strict";

function out(line) {
  process.stdout.write(line + "\n");
}

// once resolves with the arguments of emitter's next event, or rejects after ms.
function once(emitter, event, ms = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no " + event + " within " + ms + " ms")), ms);
    emitter.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

function check(cond, detail) {
  if (!cond) throw new Error(detail);
}

async function step(name, fn) {
  try {
    await fn();
    out("ok " + name);
  } catch (err) {
    out("fail " + name + " " + (err && err.message));
  }
}

module.exports = { out, once, check, step };
