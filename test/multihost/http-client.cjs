#!/usr/bin/env node
// Sends one HTTP request from inside a test host and prints
// {"status":…,"body":…} as one JSON line:
//   node http-client.cjs URL [--wait-ok SECONDS] [--json BODY]
// --wait-ok repeats a GET every 500 ms until it returns 200 or the time is up.
const [url, ...rest] = process.argv.slice(2);
const option = (name) => {
  const index = rest.indexOf(name);
  return index === -1 ? undefined : rest[index + 1];
};

async function requestOnce() {
  const json = option('--json');
  const response = await fetch(url, json === undefined
    ? { signal: AbortSignal.timeout(5000) }
    : { method: 'POST', headers: { 'content-type': 'application/json' }, body: json, signal: AbortSignal.timeout(15000) });
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: response.status, body };
}

async function main() {
  const waitSeconds = Number(option('--wait-ok') ?? 0);
  const deadline = Date.now() + waitSeconds * 1000;
  let last = { status: 0, body: 'no request sent' };
  do {
    try {
      last = await requestOnce();
      if (last.status === 200) break;
    } catch (error) {
      last = { status: 0, body: `request failed: ${error.message}` };
    }
    if (Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 500));
  } while (Date.now() < deadline);
  process.stdout.write(JSON.stringify(last) + '\n');
}

main();
