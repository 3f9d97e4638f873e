#!/usr/bin/env node
// Example convmed conformance adapter in JavaScript (node ≥ 18, no dependency).
//
// Run:  convmed conformance run --adapter "node conformance_tests/adapters/node/adapter.js"
//
// It speaks the harness protocol v1 (JSON lines on stdin/stdout). Its "engine" is the
// reference oracle, reached through ONE long-lived child process
// `python -m convmed conformance serve-oracle` (one JSON request per line, one answer per
// line, in order). A vendor replaces `engine()` with a call to their own pricing code.
// Environment: CONVMED_PYTHON (default "python3") is the Python that has convmed installed.
"use strict";
const { spawn } = require("node:child_process");
const readline = require("node:readline");

const python = process.env.CONVMED_PYTHON || "python3";
const oracle = spawn(python, ["-m", "convmed", "conformance", "serve-oracle"], { stdio: ["pipe", "pipe", "inherit"] });
const pending = [];                       // FIFO of resolvers: serve-oracle answers in order
readline.createInterface({ input: oracle.stdout }).on("line", (line) => pending.shift()(JSON.parse(line)));
oracle.on("exit", (code) => { if (code) { console.error(`serve-oracle exited with ${code}`); process.exit(1); } });

// Your pricing engine goes here: resolve to the result object, or to null to skip the case.
function engine(kind, input) {
  return new Promise((resolve, reject) => {
    pending.push((answer) => {
      if (answer.output) resolve(answer.output);
      else if (answer.unavailable) resolve(null);
      else reject(new Error(answer.error || "réponse inattendue de l'oracle"));
    });
    oracle.stdin.write(JSON.stringify({ kind, input }) + "\n");
  });
}

const send = (message) => process.stdout.write(JSON.stringify(message) + "\n");
let chain = Promise.resolve();            // answer the runner in order, one case at a time

async function handle(request) {
  if (request.cmd === "start") {
    send({ ready: true, protocol: 1,
      implementation: { name: "convmed-example-node", version: "1.0.0", language: "javascript",
        kinds: ["claim", "forfait"] } });
  } else if (request.cmd === "run") {
    const { seq, case: c } = request;
    try {
      const result = await engine(c.kind, c.input);
      if (result === null) send({ seq, skipped: true, reason: `type de cas ${c.kind} non pris en charge` });
      else send({ seq, result });
    } catch (err) {
      send({ seq, errored: true, context: { message: String(err && err.message || err) } });
    }
  } else if (request.cmd === "stop") {
    oracle.stdin.end();
    process.exit(0);
  }
}

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  if (!line.trim()) return;
  const request = JSON.parse(line);
  chain = chain.then(() => handle(request));
});
process.stdin.on("end", () => chain.then(() => { oracle.stdin.end(); }));
