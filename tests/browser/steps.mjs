// Drives Debian's Chromium through popup pages step by step and reports what a person
// would see after each step: the URL (and the last URL the browser was sent to), the
// heading text, the links (text and href), the buttons and whether images loaded. The vendor's app (STUB origin) is not on this machine: its pages are stubs
// that record any postMessage they receive.
//
// Usage: node steps.mjs PLAN_JSON   (CHROMIUM=/usr/bin/chromium)
// PLAN: {"stub": "https://app.acme.test", "start": URL, "opener": bool,
//        "screenshots": "/dir/prefix" | null, "javaScript": bool (default true),
//        "colorScheme": "light" | "dark",
//        "steps": [{"fill": {"field name": "value"}} | {"click": "visible text"}
//                  | {"type": {"field name": "value"}} (key by key) | {"press": "Tab"}
//                  | {"select": {"field name": "option label"}} | {"goto": URL}
//                  | {"button": "accessible name"}
//                  | {"waitFor": "url prefix"} | {"waitUrl": "substring"}
//                  | {"sentTo": "url prefix"} | {"closed": true} | {"axe": true}
//                  | {"cookies": true} | {"upload": {"element id": "/path/to/file"}}
//                  | {"see": "visible text"}]}
// {"see": …} waits until the page shows that text (a script's answer: "Copied").
// {"axe": true} runs axe-core on the page and reports its serious and critical
// violations in that step's snapshot (`axe`).
// {"cookies": true} reports the browser's cookies in that step's snapshot.
// With "opener", the stub page opens START with window.open and the steps run in that
// popup; the report then carries the messages the opener received.
import { readFile } from 'node:fs/promises';
import { launch } from './chromium.mjs';

const plan = JSON.parse(process.argv[2]);

// How long a step may take. A click waits for the navigation it starts to commit, which
// may be a whole redirect chain (an OAuth round trip) on a busy two-core machine.
const WAIT = 15000;
const browser = await launch();

const stubPage = `<!doctype html><title>vendor app</title><p>vendor app</p><script>
  window.__messages = [];
  window.addEventListener('message', (e) => window.__messages.push({ origin: e.origin, data: e.data }));
</script>`;

// Main-frame navigations, redirects included: where the browser was sent, even where
// the stub cannot answer (route handlers do not see the targets of server redirects).
const navigations = new WeakMap();
function watch(page) {
  const seen = [];
  navigations.set(page, seen);
  page.on('request', (r) => {
    if (r.isNavigationRequest() && r.frame() === page.mainFrame()) seen.push(r.url());
  });
}

async function snapshot(page) {
  // A navigation still under way (a redirect ending on an error page) replaces the page
  // under us: settle and read again.
  for (let attempt = 0; ; attempt++) {
    try {
      return await read(page);
    } catch (e) {
      if (attempt === 5 || page.isClosed()) throw e;
      await page.waitForLoadState().catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function read(page) {
  if (page.isClosed()) return { closed: true };
  const seen = navigations.get(page) ?? [];
  const state = await page.evaluate(() => ({
    heading: document.querySelector('h1')?.innerText.trim() ?? null,
    text: document.body?.innerText ?? '',
    links: [...document.querySelectorAll('a')].map((a) => ({ text: a.innerText.trim(), href: a.href })),
    buttons: [...document.querySelectorAll('button')].map((b) => b.innerText.trim()),
    images: [...document.images].map((i) => ({ loaded: i.complete && i.naturalWidth > 0 })),
    // Read-only fields: what a copy button copies (a link, a key shown once).
    readonly: Object.fromEntries([...document.querySelectorAll('input[readonly]')].map((i) => [i.id, i.value])),
    cards: [...document.querySelectorAll('.card')].map((c) => c.querySelector('.what span')?.innerText.trim()),
    invalid: [...document.querySelectorAll('[aria-invalid=true]')].map((i) => ({
      name: i.name,
      describedBy: (i.getAttribute('aria-describedby') ?? '').split(' ').filter(Boolean)
        .map((id) => document.getElementById(id)?.innerText.trim()),
    })),
    focused: document.activeElement && document.activeElement !== document.body
      ? { tag: document.activeElement.tagName.toLowerCase(), name: document.activeElement.getAttribute('name'),
        text: document.activeElement.innerText?.trim() ?? '' }
      : null,
  }));
  return { url: page.url(), navigated: seen[seen.length - 1] ?? null, title: await page.title(), ...state };
}

async function shoot(page, name) {
  if (!plan.screenshots || page.isClosed() || page.url().startsWith(plan.stub)) return;
  try {
    for (const width of [1280, 360]) {
      await page.setViewportSize({ width, height: 800 });
      await page.screenshot({ path: `${plan.screenshots}-${name}-${width}.png`, fullPage: true });
    }
  } catch (e) {
    // A result page that closes itself may go while it is shot: nothing left to see.
    if (!page.isClosed()) throw e;
  }
}

try {
  const context = await browser.newContext({
    javaScriptEnabled: plan.javaScript ?? true,
    colorScheme: plan.colorScheme ?? 'light',
  });
  await context.route((url) => url.origin === plan.stub, (route) =>
    route.fulfill({ status: 200, contentType: 'text/html', body: stubPage }));
  let opener = null;
  let page;
  let first = null;
  if (plan.opener) {
    opener = await context.newPage();
    await opener.goto(`${plan.stub}/opener`);
    const popup = context.waitForEvent('page');
    await opener.evaluate((url) => { window.open(url, 'latchkey'); }, plan.start);
    page = await popup;
    watch(page);
    await page.waitForLoadState();
  } else {
    page = await context.newPage();
    watch(page);
    // A start that redirects straight to the vendor ends on an unresolvable host: that is
    // an answer (see `navigated`), not a failure of the run.
    first = await page.goto(plan.start).catch(() => null);
  }
  // The first page's response headers (the popup's security headers).
  const report = { headers: first?.headers() ?? null, snapshots: [await snapshot(page)] };
  await shoot(page, '0');
  for (const [i, step] of plan.steps.entries()) {
    try {
      await act(page, step);
    } catch (e) {
      // Report what the page showed instead: the test's assertions say what was wrong.
      report.snapshots.push({ ...(await snapshot(page).catch(() => ({}))), error: String(e.message) });
      break;
    }
    if (!page.isClosed()) await page.waitForLoadState().catch(() => {});
    const shot = await snapshot(page).catch(() => ({ closed: true }));
    if (step.axe) shot.axe = await axe(page);
    if (step.cookies) shot.cookies = await page.context().cookies();
    report.snapshots.push(shot);
    await shoot(page, `${i + 1}`);
  }
  if (opener) report.messages = await opener.evaluate(() => window.__messages);
  console.log(JSON.stringify(report));
} finally {
  await browser.close();
}

// axe-core's serious and critical findings, run through the DevTools protocol (the
// page's CSP allows no script of ours, and should not).
async function axe(shown) {
  const source = await readFile(new URL('./node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
  // Without JavaScript in the page's context, axe runs on the same page in one with it.
  let page = shown;
  let checker = null;
  if (plan.javaScript === false) {
    checker = await browser.newContext({ colorScheme: plan.colorScheme ?? 'light' });
    page = await checker.newPage();
    await page.goto(shown.url());
  }
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Runtime.evaluate', { expression: source });
  const { result } = await cdp.send('Runtime.evaluate', {
    expression: `axe.run(document, { resultTypes: ['violations'] }).then((r) => JSON.stringify(
      r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')) }))))`,
    awaitPromise: true,
    returnByValue: true,
  });
  await cdp.detach();
  if (checker) await checker.close();
  return JSON.parse(result.value);
}

async function act(page, step) {
  if (step.axe || step.cookies) {
    // Read from the page as it stands (see the snapshot).
  } else if (step.type) {
    for (const [name, value] of Object.entries(step.type)) {
      const field = page.locator(`[name="${name}"]`);
      await field.fill('', { timeout: WAIT });
      await field.pressSequentially(value, { delay: 30 });
    }
  } else if (step.press) {
    // Enter on the focused element, so the navigation it starts (a submit) is waited for.
    if (step.press === 'Enter') await page.locator(':focus').press('Enter', { timeout: WAIT });
    else await page.keyboard.press(step.press);
  } else if (step.waitUrl) {
    await page.waitForURL((url) => url.href.includes(step.waitUrl), { timeout: 10000 });
  } else if (step.select) {
    for (const [name, label] of Object.entries(step.select)) {
      await page.locator(`[name="${name}"]`).selectOption({ label }, { timeout: WAIT });
    }
  } else if (step.button) {
    // By its accessible name (several buttons may read alike: "Revoke").
    await page.getByRole('button', { name: step.button, exact: true }).click({ timeout: WAIT });
  } else if (step.see) {
    await page.getByText(step.see, { exact: true }).first().waitFor({ timeout: WAIT });
  } else if (step.goto) {
    await page.goto(step.goto);
  } else if (step.upload) {
    // A file input has no name to post (the page's script reads it): found by id.
    for (const [id, path] of Object.entries(step.upload)) {
      await page.locator(`#${id}`).setInputFiles(path, { timeout: WAIT });
      // The console's script reads the file into a hidden field: wait until it has.
      await page.waitForFunction((id) => {
        const input = document.getElementById(id);
        const target = input.dataset.logo && document.getElementById(input.dataset.logo);
        return !target || target.value !== '';
      }, id, { timeout: WAIT });
    }
  } else if (step.fill) {
    for (const [name, value] of Object.entries(step.fill)) {
      await page.locator(`[name="${name}"]`).fill(value, { timeout: WAIT });
    }
  } else if (step.click) {
    // A page that posts to its opener closes itself right after the click's navigation.
    await page.getByText(step.click, { exact: true }).first().click({ timeout: WAIT })
      .catch((e) => { if (!page.isClosed()) throw e; });
  } else if (step.sentTo) {
    // The browser is sent to the vendor (a server redirect the stub cannot answer).
    const seen = navigations.get(page);
    for (let i = 0; i < 300 && !seen.some((u) => u.startsWith(step.sentTo)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (!seen.some((u) => u.startsWith(step.sentTo))) {
      throw new Error(`never sent to ${step.sentTo} within 30 s; the last navigation was ${seen.at(-1) ?? 'none'}`);
    }
  } else if (step.waitFor) {
    await page.waitForURL((url) => url.href.startsWith(step.waitFor), { timeout: 30000 });
  } else if (step.closed) {
    if (!page.isClosed()) await page.waitForEvent('close', { timeout: 10000 });
  }
}
