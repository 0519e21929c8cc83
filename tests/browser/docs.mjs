// Loads the gateway's /docs in headless Chromium (Debian's, driven by
// playwright-core), counts the operations the page shows for each
// contract in its picker, authorizes with an access token, and executes
// one call from the page (GET /api/v1/auth/me: it needs the token; "Try it
// out" is on from the start, tryItOutEnabled). Prints
// one JSON line: {"operations": {<contract>: n}, "status": "<HTTP status
// shown>", "offsite": [urls the page asked for elsewhere]}.
//
//   node docs.mjs <gateway base URL> <access token> <screenshot.png>
import { chromium } from 'playwright-core';

const [base, token, screenshot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
  const offsite = [];
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(base) && !url.startsWith('data:')) offsite.push(url);
  });
  await page.goto(base + '/docs', { waitUntil: 'networkidle' });
  const picker = page.locator('.download-url-wrapper select');
  await picker.locator('option').first().waitFor({ state: 'attached' });
  const contracts = await picker.locator('option').allTextContents();
  const operations = {};
  for (const name of contracts) {
    await picker.selectOption({ label: name });
    await page.locator('.info .title').waitFor();
    await page.locator('.opblock').first().waitFor();
    operations[name] = await page.locator('.opblock').count();
  }

  await picker.selectOption({ label: 'auth' });
  await page.locator('.opblock').first().waitFor();
  await page.locator('button.authorize').first().click();
  await page.locator('.modal-ux .auth-container input').first().fill(token);
  await page.locator('.modal-ux .auth-btn-wrapper button.authorize').click();
  await page.locator('.modal-ux button.btn-done').click();

  const me = page.locator('.opblock.opblock-get', {
    has: page.locator('.opblock-summary-path[data-path="/api/v1/auth/me"]'),
  });
  await me.locator('.opblock-summary').click();
  await me.locator('button.execute').click();
  const status = me.locator('.live-responses-table .response .response-col_status').first();
  await status.waitFor({ timeout: 15000 });
  await me.scrollIntoViewIfNeeded();
  await page.screenshot({ path: screenshot, fullPage: false });
  console.log(JSON.stringify({ operations, status: (await status.textContent()).trim(), offsite }));
} finally {
  await browser.close();
}
