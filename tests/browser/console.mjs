// Loads make observe's QeetMart console (Prometheus's own console
// templates) in headless Chromium and checks its graph drew: prints one
// JSON line {"rows": apps in the table, "lines": series drawn in the
// request-rate graph}.
//
//   node console.mjs <console URL> <screenshot.png>
import { chromium } from 'playwright-core';

const [url, screenshot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
  await page.goto(url, { waitUntil: 'networkidle' });
  const lines = page.locator('#rateGraph svg path');
  await lines.first().waitFor({ timeout: 15000 });
  const rows = await page.locator('#apps tr.app-row').count();
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(JSON.stringify({ rows, lines: await lines.count() }));
} finally {
  await browser.close();
}
