// The gateway's /ui page in Debian's headless Chromium, driven by playwright-core (no browser
// downloads). Started by tests/integration/browser_ui_test.cpp against a real pie-sim + gateway:
//   node ui_test.mjs http://127.0.0.1:PORT [WORKDIR]
// Prints one line per check ("ok: ..." / "FAIL: ...") and exits 0 only when all passed.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [base, workdir = tmpdir()] = process.argv.slice(2);
if (!base) {
  console.log('usage: node ui_test.mjs http://HOST:PORT [WORKDIR]');
  process.exit(2);
}
const WAIT = 15000;  // every single wait
setTimeout(() => {
  console.log('FAIL: the browser test ran out of its overall 90 s');
  process.exit(3);
}, 90000).unref();

const profile = mkdtempSync(join(workdir, 'chromium-profile-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const page = context.pages()[0] || await context.newPage();
page.setDefaultTimeout(WAIT);
const problems = [];
page.on('pageerror', (e) => problems.push('page error: ' + e.message));
page.on('console', (m) => { if (m.type() === 'error') problems.push('console error: ' + m.text()); });

let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    console.log('ok: ' + name);
  } catch (e) {
    failed++;
    console.log('FAIL: ' + name + ': ' + (e && e.message ? e.message.split('\n')[0] : e));
    await page.screenshot({ path: join(workdir, 'failure-' + failed + '.png'), fullPage: true }).catch(() => {});
  }
}
function expect(cond, what) {
  if (!cond) throw new Error(what);
}

/** The call form of an endpoint, opened. */
async function form(name, method = 'GET') {
  const card = page.locator(`details[data-endpoint="${name}"]`);
  if (!(await card.evaluate((d) => d.open))) await card.locator('summary').click();
  return page.locator(`form[data-endpoint="${name}"][data-method="${method}"]`);
}

await check('a browser opening / is sent to /ui, which lists the endpoints', async () => {
  const resp = await page.goto(base + '/');
  expect(resp.ok(), 'status ' + resp.status());
  expect(new URL(page.url()).pathname === '/ui', 'ended at ' + page.url());
  expect((await page.title()) === 'pie-gateway', 'title ' + (await page.title()));
  await page.locator('details[data-endpoint="echo"]').waitFor();
  const described = await page.locator('details[data-endpoint="echo"] .desc').first().textContent();
  expect(described.includes('Echo the text back'), 'description: ' + described);
});

await check('echo: call it and see the result', async () => {
  const f = await form('echo');
  await f.getByLabel('text').fill('hello browser');
  await f.getByRole('button', { name: 'Call' }).click();
  await f.locator('[data-role="run"][data-state="done"]').waitFor();
  const value = await f.locator('[data-role="value"]').textContent();
  expect(value === 'hello browser', 'result: ' + value);
});

await check('complete: tokens appear before the final result', async () => {
  const f = await form('complete');
  // Record every state the run view goes through (no timing involved).
  await f.locator('[data-role="run-area"]').evaluate((area) => {
    window.__snapshots = [];
    const record = () => {
      const run = area.querySelector('[data-role="run"]');
      if (!run) return;
      window.__snapshots.push({
        state: run.dataset.state,
        out: run.querySelector('[data-role="output"]').textContent,
        result: run.querySelector('[data-role="value"]') !== null,
      });
    };
    new MutationObserver(record).observe(area, { subtree: true, childList: true, characterData: true, attributes: true });
  });
  await f.getByLabel('prompt').fill('Once upon a time');
  await f.getByRole('button', { name: 'Call' }).click();
  await f.locator('[data-role="run"][data-state="done"]').waitFor();
  const final = await f.locator('[data-role="value"]').textContent();
  const out = await f.locator('[data-role="output"]').textContent();
  expect(final.length > 0 && final === out, `result "${final}" vs streamed output "${out}"`);
  const snaps = await page.evaluate(() => window.__snapshots);
  const partial = snaps.filter((s) => s.state === 'running' && !s.result && s.out.length > 0 && s.out.length < final.length);
  expect(partial.length > 0, 'no partial output was shown before the result (' + snaps.length + ' states seen)');
  const growing = new Set(partial.map((s) => s.out.length));
  expect(growing.size >= 2, 'output grew in ' + growing.size + ' step(s) only');
});

await check('async: submit a job and see it finish in the job list', async () => {
  const f = await form('sleep');
  await f.getByLabel('ms').fill('300');
  await f.getByRole('button', { name: 'Submit job' }).click();
  await f.locator('[data-role="run"][data-state="done"]').waitFor();
  const job = await f.locator('[data-role="run"]').getAttribute('data-job');
  const value = await f.locator('[data-role="value"]').textContent();
  expect(value === 'slept 300 ms', 'result: ' + value);
  await page.locator(`#jobs-table tr[data-job="${job}"][data-state="completed"]`).waitFor();
});

await check('cancel: a running job is cancelled from the job list', async () => {
  const f = await form('sleep');
  await f.getByLabel('ms').fill('60000');
  await f.getByRole('button', { name: 'Submit job' }).click();
  await f.locator('[data-role="run"][data-state="running"], [data-role="run"][data-state="queued"]').first().waitFor();
  const job = await f.locator('[data-role="run"]').getAttribute('data-job');
  const row = page.locator(`#jobs-table tr[data-job="${job}"]`);
  await page.locator(`#jobs-table tr[data-job="${job}"][data-state="running"]`).waitFor();
  await row.getByRole('button', { name: 'Cancel job ' + job }).click();
  await page.locator(`#jobs-table tr[data-job="${job}"][data-state="cancelled"]`).waitFor();
  await f.locator('[data-role="run"][data-state="error"]').waitFor();
  const why = await f.locator('[data-role="result"]').textContent();
  expect(why.includes('Cancelled'), 'the run shows: ' + why);
});

await check('a binary result (image/png) is shown as an image', async () => {
  const f = await form('image');
  await f.getByRole('button', { name: 'Call' }).click();
  await f.locator('[data-role="run"][data-state="done"]').waitFor();
  const img = f.locator('[data-role="value"] img');
  await img.waitFor();
  const width = await img.evaluate((i) => (i.complete ? i.naturalWidth : -1));
  expect(width === 16, 'image width ' + width);
});

await check('chat: open a session, talk three turns, close it', async () => {
  const card = page.locator('details[data-endpoint="chat"]');
  await card.locator('summary').click();
  const panel = page.locator('div.chat[data-session-endpoint="chat"]');
  await panel.getByRole('button', { name: 'Open session' }).click();
  await page.locator('div.chat[data-session-endpoint="chat"][data-state="open"]').waitFor();
  for (const [i, text] of ['one', 'two', 'three'].entries()) {
    await panel.getByLabel('Message').fill(text);
    await panel.getByRole('button', { name: 'Send' }).click();
    await panel.locator('li[data-who="inferlet"]').nth(i).waitFor();
    const reply = await panel.locator('li[data-who="inferlet"]').nth(i).textContent();
    expect(reply === 'echo: ' + text, 'reply ' + i + ': ' + reply);
  }
  const session = await panel.getAttribute('data-session');
  await page.locator(`#jobs-table tr[data-job="${session}"][data-state="running"]`).waitFor();
  await panel.getByRole('button', { name: 'Close session' }).click();
  await page.locator('div.chat[data-session-endpoint="chat"][data-state="closed"]').waitFor();
  await page.locator(`#jobs-table tr[data-job="${session}"][data-state="completed"]`).waitFor();
});

await check('the Pie servers are listed with their state', async () => {
  const state = page.locator('#servers-table tr[data-server="sim"] td[data-role="state"]');
  await state.waitFor();
  const text = await state.textContent();
  expect(text === 'healthy', 'state ' + text);
});

await check('no page errors or console errors (CSP, scripts)', async () => {
  expect(problems.length === 0, problems.join('; '));
});

await context.close();
rmSync(profile, { recursive: true, force: true });
if (failed) {
  console.log(`FAIL: ${failed} browser check(s) failed`);
  process.exit(1);
}
console.log('ok: all browser checks passed');
process.exit(0);
