/**
 * GraphiQL receiving a live event: opens the gateway's /graphql page in headless Chromium,
 * pastes the key into the Headers editor, runs a subscription from the query editor, books a
 * patient over HTTP, and waits for the event in the result pane. Run by
 * tests/test_subscriptions_browser.py:
 *
 *   node browser/graphiql-live.mjs '{"url": ..., "key": ..., "query": ..., "mutation": ...,
 *                                    "expect": ..., "screenshot": ..., "executablePath": ...}'
 *
 * Prints one JSON report on stdout.
 */
import { chromium } from 'playwright-core';

const config = JSON.parse(process.argv[2] ?? '{}');
const timeout = config.timeoutMs ?? 30_000;
const QUERY_EDITOR = '.graphiql-query-editor .CodeMirror';
const HEADERS_EDITOR = '.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror';
const RESULT = '.result-window .CodeMirror';
const sockets = [];
const consoleErrors = [];
let browser;
let page;
let step = 'launch';

try {
  browser = await chromium.launch({
    executablePath: config.executablePath ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
    timeout,
  });
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.setDefaultTimeout(timeout);
  page.on('websocket', (socket) => sockets.push(socket.url()));
  page.on('pageerror', (error) => consoleErrors.push(String(error)));

  step = 'open /graphql';
  await page.goto(config.url, { waitUntil: 'load' });
  await page.locator(QUERY_EDITOR).waitFor();

  step = 'paste the API key into the Headers editor';
  const headersTab = page.getByRole('button', { name: 'Headers', exact: true });
  if ((await headersTab.getAttribute('aria-selected')) !== 'true') await headersTab.click();
  await page.locator(HEADERS_EDITOR).click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(JSON.stringify({ Authorization: `Bearer ${config.key}` }));
  await page.locator('#gateway-hint').waitFor({ state: 'detached' });

  step = 'run the subscription';
  await page.locator(QUERY_EDITOR).evaluate((el, text) => el.CodeMirror.setValue(text), config.query);
  await page.waitForTimeout(500); // GraphiQL parses the edited document (it picks the transport)
  await page.locator('button.graphiql-execute-button').click();
  const deadline = Date.now() + timeout;
  while (sockets.length === 0 && Date.now() < deadline) await page.waitForTimeout(100);
  await page.waitForTimeout(1000); // connection_init, subscribe

  step = 'book a patient over HTTP';
  const started = Date.now();
  const response = await fetch(config.url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${config.key}` },
    body: JSON.stringify({ query: config.mutation }),
  });
  const mutation = await response.json();

  step = 'wait for the event in the result pane';
  await page.waitForFunction(
    ([sel, expect]) => document.querySelector(sel)?.CodeMirror.getValue().includes(expect),
    [RESULT, config.expect],
    { timeout },
  );
  const latencyMs = Date.now() - started;
  const resultText = await page.locator(RESULT).evaluate((el) => el.CodeMirror.getValue());
  const shown = await page.locator('.result-window').innerText();
  await page.screenshot({ path: config.screenshot });
  process.stdout.write(
    `${JSON.stringify({ ok: true, sockets, mutation, latencyMs, result: JSON.parse(resultText), shown, consoleErrors })}\n`,
  );
} catch (error) {
  await page?.screenshot({ path: config.screenshot }).catch(() => {});
  process.stdout.write(`${JSON.stringify({ ok: false, step, error: String(error), sockets, consoleErrors })}\n`);
  process.exitCode = 1;
} finally {
  await browser?.close();
}
