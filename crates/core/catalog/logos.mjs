// Writes logos/{key}.svg for every built-in provider that simple-icons (CC0, pinned in
// package.json) has an icon for, in the brand's colour. Providers without one get a
// monogram at run time (latchkey_core::catalog::builtin_logo). Run after adding providers:
//   cd crates/core/catalog && npm ci && node logos.mjs
import { readdirSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import * as icons from 'simple-icons';

// Our key → simple-icons slug, where they differ.
const SLUGS = {
  amazonsellingpartner: 'amazon',
  bigin: 'zoho',
  checkoutcom: 'checkoutdotcom',
  dropboxsign: 'dropbox',
  facebook: 'meta',
  kit: 'kit',
  remotecom: 'remote',
  sageaccounting: 'sage',
  twitter: 'x',
  zendesksell: 'zendesk',
  zohobooks: 'zoho',
  zohocrm: 'zoho',
  zohodesk: 'zoho',
};

const bySlug = new Map(Object.values(icons).map((icon) => [icon.slug, icon]));
const keys = readdirSync('providers').filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
rmSync('logos', { recursive: true, force: true });
mkdirSync('logos');
const missing = [];
for (const key of keys) {
  const icon = bySlug.get(SLUGS[key] ?? key);
  if (!icon) {
    missing.push(key);
    continue;
  }
  const title = icon.title.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  writeFileSync(
    `logos/${key}.svg`,
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" role="img"><title>${title}</title><path fill="#${icon.hex}" d="${icon.path}"/></svg>\n`,
  );
}
console.log(`${keys.length - missing.length} logos written; monograms for: ${missing.join(', ') || 'none'}`);
