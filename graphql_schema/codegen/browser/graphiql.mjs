/**
 * GraphiQL in a real browser: opens the gateway's /graphql page in headless Chromium (Debian's
 * package, driven by playwright-core), with every request that does not go to the gateway's
 * own host aborted, so the page must work without internet access. Types the API key into the
 * Headers editor the way a developer does, runs the default query with the run button, waits
 * for the result pane, checks it shows `expect`, and saves a screenshot. Run by
 * tests/test_graphiql_browser.py:
 *
 *   node browser/graphiql.mjs '{"url": ..., "key": ..., "expect": ..., "screenshot": ...,
 *                              "executablePath": "/usr/bin/chromium"}'
 *
 * Prints one JSON report on stdout.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const config = JSON.parse(process.argv[2] ?? '{}');
const timeout = config.timeoutMs ?? 30_000;
const gatewayHost = new URL(config.url).hostname;
const userDataDir = mkdtempSync(join(tmpdir(), 'graphiql-chromium-'));

const blocked = [];
const requested = [];
const consoleErrors = [];
let context;
let page;
let step = 'launch';
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: config.executablePath ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1440, height: 900 },
    timeout,
  });
  context.setDefaultTimeout(timeout);

  // No CDN: anything that is not the gateway itself is refused.
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === gatewayHost) {
      requested.push(url.pathname);
      return route.continue();
    }
    blocked.push(url.href);
    return route.abort('blockedbyclient');
  });

  page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(String(error)));

  step = 'open /graphql';
  await page.goto(config.url, { waitUntil: 'load' });
  await page.locator('.graphiql-container .graphiql-query-editor .CodeMirror').waitFor();

  step = 'type the API key into the Headers editor';
  const headersTab = page.getByRole('button', { name: 'Headers', exact: true });
  if ((await headersTab.getAttribute('aria-selected')) !== 'true') await headersTab.click();
  const headersEditor = page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror');
  await headersEditor.click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  // insertText, not per-key typing: CodeMirror would auto-close the braces and quotes.
  await page.keyboard.insertText(JSON.stringify({ Authorization: `Bearer ${config.key}` }, null, 2));
  const headersText = await headersEditor.evaluate((el) => el.CodeMirror.getValue());

  step = 'keep the default query and run it';
  const queryText = await page
    .locator('.graphiql-query-editor .CodeMirror')
    .evaluate((el) => el.CodeMirror.getValue());
  await page.locator('button.graphiql-execute-button').click();

  step = 'wait for the result pane';
  await page.waitForFunction(
    () => document.querySelector('.result-window .CodeMirror')?.CodeMirror.getValue().trim().startsWith('{'),
    null,
    { timeout },
  );
  const resultText = await page
    .locator('.result-window .CodeMirror')
    .evaluate((el) => el.CodeMirror.getValue());
  // What a person sees: the text is in the pane's rendered lines, not only in the editor model.
  const shown = await page.locator('.result-window').innerText();

  step = 'screenshot';
  await page.screenshot({ path: config.screenshot });
  process.stdout.write(
    `${JSON.stringify({
      ok: true,
      headersText,
      queryText,
      result: JSON.parse(resultText),
      showsExpected: shown.includes(config.expect),
      blocked,
      requested,
      consoleErrors,
    })}\n`,
  );
} catch (error) {
  // What the browser showed when it went wrong, for the CI artifacts.
  await page?.screenshot({ path: config.screenshot }).catch(() => {});
  process.stdout.write(
    `${JSON.stringify({ ok: false, step, error: String(error), blocked, requested, consoleErrors })}\n`,
  );
  process.exitCode = 1;
} finally {
  await context?.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
