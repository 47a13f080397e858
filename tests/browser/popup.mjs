// Drives Debian's Chromium through a connection: opens START_URL, optionally clicks the
// integration named CHOOSE on the marketplace, lets the (auto-consenting) provider and the
// callback run, and stops when the browser reaches TARGET_ORIGIN. Prints JSON with the
// final URL and the response headers of the first popup page.
//
// Usage: node popup.mjs START_URL TARGET_ORIGIN [CHOOSE]   (CHROMIUM=/usr/bin/chromium)
import { chromium } from 'playwright-core';

const [startUrl, targetOrigin, choose] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
    '--no-first-run', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await (await browser.newContext()).newPage();
  // The vendor's app is not on this machine: its page is a stub.
  await page.route(`${targetOrigin}/**`, (route) =>
    route.fulfill({ status: 200, contentType: 'text/html', body: '<p>vendor app</p>' }));
  const first = await page.goto(startUrl);
  const headers = first.headers();
  const title = await page.title();
  if (choose) await page.getByText(choose, { exact: true }).click();
  await page.waitForURL((url) => url.href.startsWith(targetOrigin), { timeout: 30000 });
  console.log(JSON.stringify({ finalUrl: page.url(), headers, title }));
} finally {
  await browser.close();
}
