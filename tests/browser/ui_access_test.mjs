// The /ui page with `access:` on, in Debian's headless Chromium (playwright-core): it asks for a
// token, sends it as a Bearer header (calls, async job events), and sets no cookie. Started by
// tests/integration/browser_ui_test.cpp:  node ui_access_test.mjs http://127.0.0.1:PORT TOKEN WORKDIR
// Prints "ok: ..." / "FAIL: ..." per check and exits 0 only when all passed.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const [base, token, workdir] = process.argv.slice(2);
setTimeout(() => {
  console.log('FAIL: the browser test ran out of its overall 60 s');
  process.exit(3);
}, 60000).unref();
const profile = mkdtempSync(join(workdir, 'chromium-profile-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
});
const page = context.pages()[0] || await context.newPage();
page.setDefaultTimeout(15000);
const problems = [];
page.on('pageerror', (e) => problems.push('page error: ' + e.message));
const sentAuth = [];
page.on('request', (r) => { if (r.headers().authorization) sentAuth.push(r.url()); });

let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    console.log('ok: ' + name);
  } catch (e) {
    failed++;
    console.log('FAIL: ' + name + ': ' + (e && e.message ? e.message.split('\n')[0] : e));
  }
}
function expect(cond, what) {
  if (!cond) throw new Error(what);
}
/** Opens endpoint `name`, fills `field`, presses `button` and returns the result's text. */
async function run(name, field, text, button) {
  await page.locator(`details[data-endpoint="${name}"] summary`).click();
  const f = page.locator(`form[data-endpoint="${name}"][data-method="GET"]`);
  await f.getByLabel(field).fill(text);
  await f.getByRole('button', { name: button }).click();
  await f.locator('[data-role="run"][data-state="done"]').waitFor();
  return f.locator('[data-role="value"]').textContent();
}

await check('the page asks for a token', async () => {
  await page.goto(base + '/ui');
  await page.locator('#auth:not([hidden])').waitFor();
  const why = await page.locator('#auth-why').textContent();
  expect(why.includes('needs an access token'), 'says: ' + why);
});

await check('with the token, echo is called', async () => {
  await page.getByLabel('Access token').fill(token);
  await page.getByRole('button', { name: 'Use token' }).click();
  await page.locator('details[data-endpoint="echo"]').waitFor();
  expect(await page.locator('#auth').isHidden(), 'the token form is still shown');
  const value = await run('echo', 'text', 'hello token', 'Call');
  expect(value === 'hello token', 'result: ' + value);
});

await check('an async job runs and its events stream with the token', async () => {
  const value = await run('sleep', 'ms', '200', 'Submit job');
  expect(value === 'slept 200 ms', 'result: ' + value);
  expect(sentAuth.some((u) => u.includes('/gateway/jobs/') && u.endsWith('/events')), 'events fetched without the token');
});

await check('no cookie is set, and the token is in sessionStorage only', async () => {
  const cookies = await context.cookies();
  expect(cookies.length === 0, 'cookies: ' + JSON.stringify(cookies));
  const kept = await page.evaluate(() => sessionStorage.getItem('pie-gateway-token'));
  expect(kept === token, 'sessionStorage does not hold the token');
  const local = await page.evaluate(() => localStorage.length);
  expect(local === 0, 'localStorage is used');
});

await check('forgetting the token asks again', async () => {
  await page.getByRole('button', { name: 'Forget the token' }).click();
  await page.locator('#auth:not([hidden])').waitFor();
  const kept = await page.evaluate(() => sessionStorage.getItem('pie-gateway-token'));
  expect(kept === null, 'the token is still kept');
});

await check('no page errors', async () => {
  expect(problems.length === 0, problems.join('; '));
});

await context.close();
rmSync(profile, { recursive: true, force: true });
console.log(failed ? `FAIL: ${failed} browser check(s) failed` : 'ok: all browser checks passed');
process.exit(failed ? 1 : 0);
