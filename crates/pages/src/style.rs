//! The pages' one stylesheet and one script, inline (the CSP allows no other origin).

/// Light and dark by `prefers-color-scheme`; the account's colour arrives as `--accent`
/// and `--on-accent` (see `Brand::style`).
pub const STYLE: &str = "\
:root{--accent:#1f6feb;--on-accent:#fff;--bg:#fff;--fg:#1f2328;--muted:#59636e;--border:#d0d7de;\
--card:#fff;--hover:#f6f8fa;--error:#b42318;--ok:#067647;--ok-bg:#ecfdf3;color-scheme:light dark}\
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--border:#3d444d;\
--card:#151b23;--hover:#1f2630;--error:#ff8e86;--ok:#56d364;--ok-bg:#0f2a19}}\
*{box-sizing:border-box}\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;background:var(--bg);color:var(--fg);line-height:1.45}\
.page{max-width:56rem;margin:0 auto;padding:1rem 1.25rem 2rem}\
.page.narrow{max-width:30rem}\
header.brand{display:flex;align-items:center;gap:.6rem;padding:.4rem 0 1rem;border-bottom:1px solid var(--border);margin-bottom:1.25rem;font-weight:600}\
header.brand img,header.brand svg{width:32px;height:32px;border-radius:6px;object-fit:contain}\
header.brand img{background:#fff;padding:3px}\
h1{font-size:1.35rem;margin:.2rem 0 .6rem}\
a{color:inherit}\
a:focus-visible,button:focus-visible,input:focus-visible{outline:3px solid var(--accent);outline-offset:2px}\
.lead,.help,small{color:var(--muted)}\
.logo{width:40px;height:40px;flex:none;border-radius:8px;background:#fff;padding:5px;border:1px solid var(--border);display:inline-flex}\
.logo img,.logo svg{width:100%;height:100%;object-fit:contain}\
.logo.monogram{padding:0;border:0;background:none}\
.provider{display:flex;align-items:center;gap:.75rem;margin-bottom:.6rem}\
.provider h1{margin:0}\
form.search{display:flex;gap:.5rem;margin:.6rem 0}\
form.search input{flex:1}\
input,textarea{width:100%;padding:.55rem .65rem;font:inherit;color:var(--fg);background:var(--card);border:1px solid var(--border);border-radius:8px}\
textarea.code{font-family:ui-monospace,monospace;font-size:.85rem;min-height:22rem;resize:vertical}\
input[aria-invalid=true],textarea[aria-invalid=true]{border-color:var(--error)}\
label{display:block;font-weight:600;margin:.9rem 0 .25rem}\
.field small{display:block;margin-top:.25rem}\
.field-error,.error{color:var(--error)}\
.field-error{margin:.3rem 0 0;font-size:.92rem}\
.ok{color:var(--ok)}\
nav.categories{display:flex;flex-wrap:wrap;gap:.4rem;margin:.4rem 0 1rem;padding:0}\
nav.categories a{padding:.25rem .7rem;border:1px solid var(--border);border-radius:999px;text-decoration:none;font-size:.9rem;background:var(--card)}\
nav.categories a[aria-current]{background:var(--accent);color:var(--on-accent);border-color:var(--accent)}\
ul.grid{list-style:none;padding:0;margin:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(15rem,1fr));gap:.75rem}\
.card{display:flex;align-items:center;gap:.75rem;padding:.75rem .85rem;border:1px solid var(--border);border-radius:10px;\
background:var(--card);text-decoration:none;color:inherit;min-height:4.5rem;height:100%}\
a.card:hover{background:var(--hover)}\
.what{display:flex;flex-direction:column;min-width:0}\
.what small{overflow:hidden;text-overflow:ellipsis;display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical}\
.badge{margin-left:auto;flex:none;font-size:.78rem;color:var(--ok);border:1px solid var(--ok);background:var(--ok-bg);border-radius:999px;padding:.05rem .5rem}\
.actions{display:flex;flex-wrap:wrap;gap:.6rem;margin-top:1.25rem;align-items:center}\
button,.button{display:inline-flex;align-items:center;justify-content:center;gap:.4rem;padding:.6rem 1.1rem;border-radius:8px;font:inherit;font-weight:600;\
cursor:pointer;border:1px solid var(--border);background:var(--card);color:var(--fg);text-decoration:none}\
button.primary,.button.primary{background:var(--accent);color:var(--on-accent);border-color:var(--accent)}\
button[aria-busy=true]{opacity:.75;cursor:progress}\
nav.pages{display:flex;justify-content:space-between;align-items:center;margin-top:1rem;gap:.5rem}\
.code{font-size:.85rem;color:var(--muted)}\
footer{margin-top:2rem;padding-top:.8rem;border-top:1px solid var(--border);font-size:.88rem;color:var(--muted);display:flex;flex-wrap:wrap;gap:1rem}\
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}\
.page.wide{max-width:72rem}\
h2{font-size:1.1rem;margin:1.6rem 0 .5rem}\
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:var(--card);padding:.4rem .8rem;z-index:1}\
nav.console{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1rem;margin:-.5rem 0 1.25rem}\
nav.console ul{display:flex;flex-wrap:wrap;gap:.25rem;list-style:none;margin:0;padding:0;flex:1}\
nav.console a{display:inline-block;padding:.4rem .75rem;border-radius:8px;text-decoration:none}\
nav.console a[aria-current]{background:var(--accent);color:var(--on-accent)}\
nav.console button{padding:.35rem .8rem;font-weight:500}.sign-out{margin-left:auto}\
.field label small{display:inline}.what>span{overflow-wrap:anywhere}\
.notice{padding:.6rem .8rem;border-radius:8px;border:1px solid currentColor}\
.badge.off{color:var(--muted);border-color:var(--border);background:none}\
.badge.bad{color:var(--error);border-color:var(--error);background:none}\
.count{font-size:.8rem;opacity:.85}\
table{width:100%;border-collapse:collapse;margin:.5rem 0}\
th,td{text-align:left;padding:.5rem .4rem;border-bottom:1px solid var(--border);vertical-align:top}\
th{font-size:.85rem;color:var(--muted);font-weight:600}\
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.35rem 1rem;margin:.5rem 0}\
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;overflow-wrap:anywhere}\
.copy-row{display:flex;gap:.5rem}.copy-row input{flex:1;font-family:ui-monospace,monospace;font-size:.88rem}\
select{width:100%;padding:.55rem .65rem;font:inherit;color:var(--fg);background:var(--card);border:1px solid var(--border);border-radius:8px}\
fieldset{border:1px solid var(--border);border-radius:8px;margin:.9rem 0 0;padding:.5rem .9rem .8rem}\
label.choice{font-weight:400;margin:.4rem 0;display:flex;gap:.5rem;align-items:baseline}label.choice input{width:auto}\
ul.plain{padding-left:1.1rem}ul.plain li{margin:.4rem 0}\
details.danger{margin-top:1.25rem;border:1px solid var(--error);border-radius:8px;padding:.6rem .9rem}\
details.danger summary{cursor:pointer;color:var(--error);font-weight:600}\
pre.code{white-space:pre-wrap;overflow-wrap:anywhere}\
@media (max-width:480px){.page{padding:.75rem .9rem 1.5rem}ul.grid{grid-template-columns:1fr}.actions>*{flex:1 1 100%}\
nav.console ul{flex-basis:100%}\
table,thead,tbody,tr,th,td{display:block}thead{position:absolute;left:-999px}tr{border-bottom:1px solid var(--border);padding:.4rem 0}td{border:0;padding:.15rem 0}\
td[data-label]::before{content:attr(data-label) \": \";color:var(--muted)}\
dl.facts{grid-template-columns:1fr}dl.facts dd{margin-bottom:.4rem}}";

/// Progressive enhancement, nonce'd: the marketplace filters as you type (the same GET
/// the search form sends, its results swapped in), a submitted form says it is working
/// while the verification or token call runs, the console's copy buttons copy their
/// field (which stays selectable without the script), and a chosen logo file is read
/// into its form's hidden field as a data URL (forms post url-encoded; the form cannot
/// be sent until it is read).
pub const SCRIPT: &str = "(function(){\
var f=document.getElementById('search');\
if(f&&window.fetch&&window.DOMParser){var q=f.querySelector('input[name=q]'),t,n=0;\
q.addEventListener('input',function(){clearTimeout(t);t=setTimeout(go,200)});\
function go(){var u=new URL(f.getAttribute('action'),location.href),m=++n;\
new FormData(f).forEach(function(v,k){u.searchParams.set(k,v)});\
fetch(u,{credentials:'same-origin'}).then(function(r){return r.text()}).then(function(h){\
if(m!==n)return;var d=new DOMParser().parseFromString(h,'text/html'),x=d.getElementById('results'),o=document.getElementById('results');\
if(x&&o){o.replaceWith(x);history.replaceState(null,'',u)}}).catch(function(){})}}\
document.querySelectorAll('form[data-busy]').forEach(function(g){g.addEventListener('submit',function(){\
var b=g.querySelector('button[type=submit]');if(b){b.setAttribute('aria-busy','true');b.disabled=true;b.textContent=g.dataset.busy}})});\
document.querySelectorAll('button[data-copy]').forEach(function(b){b.addEventListener('click',function(){\
var i=document.getElementById(b.dataset.copy);i.select();\
(navigator.clipboard?navigator.clipboard.writeText(i.value):Promise.reject()).then(function(){b.textContent='Copied'},function(){document.execCommand('copy');b.textContent='Copied'})})});\
document.querySelectorAll('input[data-logo]').forEach(function(i){i.addEventListener('change',function(){\
var h=document.getElementById(i.dataset.logo),b=i.form.querySelector('button[type=submit]'),f=i.files[0];h.value='';if(!f)return;\
var r=new FileReader();b.disabled=true;r.onloadend=function(){h.value=r.result||'';b.disabled=false};r.readAsDataURL(f)})})\
})();";
