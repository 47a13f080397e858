// A vendor's page on its own origin that loads Latchkey's /sdk/connect.js and calls
// Latchkey.connect() from a click, as the README shows; a frame from a third origin keeps
// posting forged results at it. Reports what the promise settled with.
//
// Usage: node vendor.mjs PLAN_JSON   (CHROMIUM=/usr/bin/chromium)
// PLAN: {"vendor": "http://localhost:PORT", "latchkey": "http://127.0.0.1:PORT/",
//        "options": {...Latchkey.connect options}, "close": bool,
//        "screenshots": "/dir/prefix" | null}
// The vendor's page is served from PORT on this machine (a real loopback server, as
// Chromium's local-network rules expect of a page loading from loopback); the forging
// frame from another port. With "close", the consumer closes the popup once it loads.
import { createServer } from 'node:http';
import { launch } from './chromium.mjs';

function serve(port, body) {
  const server = createServer((_, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(body());
  });
  return new Promise((resolve) => server.listen(port, () => resolve(server)));
}

const plan = JSON.parse(process.argv[2]);
const browser = await launch();

const forgerServer = await serve(0, () => forgerPage);
const forger = `http://127.0.0.1:${forgerServer.address().port}`;
const vendorServer = await serve(Number(new URL(plan.vendor).port), () => vendorPage);
const vendorPage = `<!doctype html><html lang="en"><title>Acme app</title>
<script src="${plan.latchkey}sdk/connect.js"></script>
<h1>Acme app</h1><button id="connect">Connect your CRM</button><p id="out">waiting</p>
<iframe src="${forger}/forge" title="ads"></iframe>
<script>
  window.__settled = null;
  window.__forged = 0;
  addEventListener('message', (e) => { if (e.data && e.data.connectionId === 'con_forged') window.__forged++; });
  document.getElementById('connect').addEventListener('click', () => {
    Latchkey.connect(${JSON.stringify(plan.options)})
      .then((v) => { window.__settled = { resolved: v }; })
      .catch((e) => { window.__settled = { rejected: e }; })
      .finally(() => { document.getElementById('out').textContent = JSON.stringify(window.__settled); });
  });
</script>`;
// A third origin in the page that claims a connection, again and again.
const forgerPage = `<!doctype html><script>
  setInterval(() => parent.postMessage({ callbackMessage: 'latchkey', connectionId: 'con_forged',
    connectionStatus: 'active' }, '*'), 50);
</script>`;

try {
  const context = await browser.newContext();
  const page = await context.newPage();
  // Said on failure: what the vendor's page could not load or run.
  page.on('console', (m) => console.error(`console: ${m.text()}`));
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  page.on('requestfailed', (r) => console.error(`failed: ${r.url()} ${r.failure()?.errorText}`));
  await page.goto(`${plan.vendor}/integrations`);
  await page.waitForFunction(() => typeof window.Latchkey === 'object' && window.__forged > 0);
  const popupOpened = context.waitForEvent('page');
  await page.click('#connect');
  const popup = await popupOpened;
  const seen = [];
  popup.on('framenavigated', (f) => { if (f === popup.mainFrame()) seen.push(f.url()); });
  if (plan.close) {
    await popup.waitForLoadState();
    await popup.close({ runBeforeUnload: false });
  }
  await page.waitForFunction(() => window.__settled !== null, null, { timeout: 30000 });
  if (plan.screenshots) {
    for (const width of [1280, 360]) {
      await page.setViewportSize({ width, height: 600 });
      await page.screenshot({ path: `${plan.screenshots}-${width}.png` });
    }
  }
  // The popup posts its result, then closes itself: give the close time to arrive.
  if (!popup.isClosed()) await popup.waitForEvent('close', { timeout: 10000 }).catch(() => {});
  const { settled, forged } = await page.evaluate(() => ({ settled: window.__settled, forged: window.__forged }));
  console.log(JSON.stringify({ settled, forged, popupClosed: popup.isClosed(), popupUrls: seen }));
} finally {
  await browser.close();
  vendorServer.close();
  forgerServer.close();
}
