/**
 * GraphiQL in a real browser: opens the gateway's /graphql page in headless Chromium (Debian's
 * package, driven by playwright-core), with every request that does not go to the gateway's
 * own host aborted, so the page must work without internet access. Run by
 * tests/test_graphiql_browser.py:
 *
 *   node browser/graphiql.mjs '{"url": ..., "key": ..., "expect": ..., "screenshot": ...,
 *                              "executablePath": "/usr/bin/chromium"}'
 *
 * With "key", the page is opened the way a developer with a key does: it reads the hint the
 * page shows without a key, pastes the key into the Headers editor (no reload) and waits for
 * the schema, then runs the first tab with the run button. Without "key" (the demo page,
 * which carries its own key) nothing is typed: the first tab runs on Ctrl-Enter alone. Both
 * then open the documentation explorer and the GraphiQL Explorer plugin, check that they
 * show the schema, and save a screenshot.
 *
 * "hintScreenshot" also saves the page as it first opened (before any key was pasted);
 * "reloadWithStaleKey" then replaces every stored key with a stale one and reloads.
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
const introspections = []; // the status of every schema request the page made
let context;
let page;
let step = 'launch';

const editorText = (selector) =>
  page.locator(selector).evaluate((el) => el.CodeMirror.getValue());
const QUERY_EDITOR = '.graphiql-query-editor .CodeMirror';
const HEADERS_EDITOR = '.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror';
const RESULT = '.result-window .CodeMirror';

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
  let navigations = 0; // page loads: the key must work without a reload
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) navigations += 1;
  });
  page.on('response', (response) => {
    if ((response.request().postData() ?? '').includes('IntrospectionQuery')) {
      introspections.push(response.status());
    }
  });

  step = 'open /graphql';
  const response = await page.goto(config.url, { waitUntil: 'load' });
  const html = await response.text();
  await page.locator(QUERY_EDITOR).waitFor();
  // Let the page settle: a schema request, if it made one, has had time to fail.
  await page.waitForTimeout(1000);
  const hint = page.locator('#gateway-hint');
  const hintBefore = (await hint.count()) ? await hint.innerText() : null;
  const resultBefore = await editorText(RESULT);
  const introspectionsBefore = [...introspections];
  if (config.hintScreenshot) await page.screenshot({ path: config.hintScreenshot });

  if (config.key) {
    step = 'paste the API key into the Headers editor';
    const headersTab = page.getByRole('button', { name: 'Headers', exact: true });
    if ((await headersTab.getAttribute('aria-selected')) !== 'true') await headersTab.click();
    const headersEditor = page.locator(HEADERS_EDITOR);
    await headersEditor.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    // insertText, not per-key typing: CodeMirror would auto-close the braces and quotes.
    await page.keyboard.insertText(JSON.stringify({ Authorization: `Bearer ${config.key}` }, null, 2));
    step = 'wait for the hint to go and the schema to load (no reload)';
    await hint.waitFor({ state: 'detached' });
  }

  step = 'read the headers and the first tab';
  // Variables and Headers, whichever is shown (the demo opens on Variables): their models.
  const [variablesText, headersText] = await page.evaluate(() =>
    [...document.querySelectorAll('.graphiql-editor-tool .graphiql-editor .CodeMirror')].map((el) =>
      el.CodeMirror.getValue(),
    ),
  );
  const queryText = await editorText(QUERY_EDITOR);
  const tabs = await page.locator('.graphiql-tab').allInnerTexts();

  step = config.key ? 'run the first tab with the run button' : 'run the first tab with Ctrl-Enter';
  if (config.key) await page.locator('button.graphiql-execute-button').click();
  else await page.keyboard.press('Control+Enter');

  step = 'wait for the result pane';
  await page.waitForFunction(
    (sel) => document.querySelector(sel)?.CodeMirror.getValue().trim().startsWith('{'),
    RESULT,
    { timeout },
  );
  const resultText = await editorText(RESULT);
  // What a person sees: the text is in the pane's rendered lines, not only in the editor model.
  const shown = await page.locator('.result-window').innerText();

  step = 'open the documentation explorer';
  await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
  const docs = page.locator('.graphiql-doc-explorer');
  await docs.getByText('Query', { exact: true }).first().click();
  await docs.locator('.graphiql-doc-explorer-field-name', { hasText: 'bookings' }).first().waitFor();
  const docsText = await docs.innerText();

  step = 'open the GraphiQL Explorer plugin';
  await page.getByRole('button', { name: 'Show GraphiQL Explorer' }).click();
  const explorer = page.locator('.graphiql-explorer-root');
  await explorer.getByText('bookings', { exact: true }).first().waitFor();
  const explorerText = await explorer.innerText();
  await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
  await page.evaluate(() => {
    for (const el of document.querySelectorAll('.graphiql-plugin, .graphiql-doc-explorer-content')) el.scrollTop = 0;
  });

  step = 'screenshot';
  await page.screenshot({ path: config.screenshot });

  let afterReload = null;
  if (config.reloadWithStaleKey) {
    step = 'reload with a stale key stored (the demo database was reset)';
    await page.evaluate(() => {
      for (const name of Object.keys(localStorage)) {
        const value = localStorage.getItem(name);
        localStorage.setItem(name, value.replaceAll(/agw_[A-Za-z0-9_-]+/g, 'agw_stale'));
      }
    });
    await page.reload({ waitUntil: 'load' });
    await page.locator(QUERY_EDITOR).waitFor();
    await page.waitForTimeout(500);
    afterReload = {
      tabs: await page.locator('.graphiql-tab').allInnerTexts(),
      editors: await page.evaluate(() =>
        [...document.querySelectorAll('.graphiql-editor-tool .graphiql-editor .CodeMirror')].map((el) =>
          el.CodeMirror.getValue(),
        ),
      ),
      stale: await page.evaluate(() => JSON.stringify({ ...localStorage }).includes('agw_stale')),
    };
  }
  process.stdout.write(
    `${JSON.stringify({
      ok: true,
      html,
      hintBefore,
      resultBefore,
      introspectionsBefore,
      introspections,
      tabs,
      headersText,
      queryText,
      variablesText,
      result: JSON.parse(resultText),
      showsExpected: config.expect ? shown.includes(config.expect) : null,
      docsText,
      explorerText,
      navigations,
      afterReload,
      blocked,
      requested,
      consoleErrors,
    })}\n`,
  );
} catch (error) {
  // What the browser showed when it went wrong, for the CI artifacts.
  await page?.screenshot({ path: config.screenshot }).catch(() => {});
  process.stdout.write(
    `${JSON.stringify({ ok: false, step, error: String(error), blocked, requested, consoleErrors, introspections })}\n`,
  );
  process.exitCode = 1;
} finally {
  await context?.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
