// The console's only style and script, sent inline (with the response's CSP
// nonce) so a page is one request and nothing is fetched from elsewhere.
export const CSS = `
:root{--fg:#1d2330;--muted:#566072;--line:#d5dae2;--bg:#fff;--panel:#f4f6f8;--accent:#1f4fa3;--crit:#a61b12;--warn:#8a4f00;--ok:#0f6b2f;--focus:#f0a500}
*{box-sizing:border-box}
html{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:var(--fg);background:var(--bg)}
body{margin:0}
a{color:var(--accent)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:6px;z-index:9}
header.top{display:flex;flex-wrap:wrap;align-items:center;gap:6px 18px;padding:8px 16px;background:#16213a;color:#fff}
header.top a{color:#fff;text-decoration:none;padding:6px 4px}
header.top a[aria-current=page]{border-bottom:3px solid #9cc1ff}
header.top .brand{font-weight:700;margin-right:8px}
header.top nav ul{display:flex;flex-wrap:wrap;gap:4px 14px;list-style:none;margin:0;padding:0}
header.top .who{margin-left:auto;display:flex;gap:10px;align-items:center;font-size:14px}
header.top .who button{background:none;border:1px solid #9cb0d6;color:#fff}
header.top .muted{color:#d0daf0}
main{max-width:1200px;margin:0 auto;padding:16px}
h1{font-size:22px;margin:8px 0 12px}h2{font-size:18px;margin:22px 0 8px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--panel);font-weight:600}
.scroll{overflow-x:auto}
.muted{color:var(--muted)}
.status{display:inline-block;padding:1px 8px;border-radius:10px;font-size:13px;font-weight:600;background:var(--panel);border:1px solid var(--line)}
.status.completed,.status.up{color:var(--ok);border-color:#8cc7a0}
.status.failed,.status.down,.status.partial{color:var(--crit);border-color:#e3a29c}
.status.running,.status.queued{color:var(--accent);border-color:#9cb7e3}
.status.cancelled{color:var(--warn);border-color:#e0bf8a}
form.filters{display:flex;flex-wrap:wrap;gap:10px;align-items:flex-end;background:var(--panel);padding:10px;border-radius:6px;margin-bottom:12px}
label{display:block;font-weight:600;font-size:14px;margin-bottom:3px}
.field{margin-bottom:12px}
.hint{font-size:13px;color:var(--muted);margin:2px 0 0}
.error{color:var(--crit);font-weight:600;font-size:14px;margin:3px 0 0}
input,select,textarea,button{font:inherit;padding:6px 8px;border:1px solid #8a93a3;border-radius:4px;background:#fff;color:var(--fg);max-width:100%}
input[type=checkbox],input[type=radio]{width:18px;height:18px;vertical-align:middle}
.check{display:flex;gap:6px;align-items:center;font-weight:400}
button,.button{cursor:pointer;background:var(--accent);color:#fff;border-color:var(--accent);text-decoration:none;display:inline-block;padding:6px 12px;border-radius:4px}
button.danger{background:var(--crit);border-color:var(--crit)}
fieldset{border:1px solid var(--line);border-radius:6px;margin:0 0 14px;padding:10px 12px}
legend{font-weight:700;padding:0 4px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:4px 16px}
.banner{padding:10px 12px;border-radius:6px;margin:10px 0;border:1px solid}
.banner.bad{background:#fdecea;border-color:#e3a29c;color:var(--crit)}
.banner.good{background:#e9f6ee;border-color:#8cc7a0;color:var(--ok)}
.finding{border-left:5px solid var(--line);padding:6px 10px;margin:8px 0;background:var(--panel)}
.finding.critical{border-color:var(--crit)}.finding.warning{border-color:var(--warn)}.finding.info{border-color:var(--accent)}
.finding h3{margin:0 0 4px;font-size:16px}
.sev{font-size:12px;text-transform:uppercase;font-weight:700}
progress{width:160px;height:14px;vertical-align:middle}
.actions{display:flex;flex-wrap:wrap;gap:10px;align-items:center;margin:10px 0}
iframe.report{width:100%;height:80vh;border:1px solid var(--line);border-radius:6px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 14px;margin:0}
dl.facts dt{font-weight:600}dl.facts dd{margin:0}
.runbooks{list-style:none;padding:0}.runbooks li{border:1px solid var(--line);border-radius:6px;padding:10px 12px;margin:8px 0}
.login{max-width:420px;margin:40px auto}
.pager{display:flex;gap:14px;margin:12px 0}
td time{white-space:nowrap}
code{font-size:13px;background:var(--panel);padding:0 3px;border-radius:3px}
@media (max-width:700px){
 main{padding:10px}
 table.cards thead{position:absolute;left:-9999px}
 table.cards tr{display:block;border:1px solid var(--line);border-radius:6px;margin:8px 0;padding:4px}
 table.cards td{display:flex;gap:8px;border:0;padding:3px 6px}
 table.cards td::before{content:attr(data-label);font-weight:600;min-width:90px;color:var(--muted)}
 header.top .who{margin-left:0}
}
`;

/**
 * Times in the viewer's zone (UTC stays in the title); progress bars that move
 * with the clock; live fragments from the page's SSE stream (data-live):
 * `fragment` replaces the element with that id, `done` ends the stream and,
 * on a page that asks for it, reloads to show what the end brought.
 */
export const SCRIPT = `(function(){
var fmt={year:'numeric',month:'short',day:'numeric',hour:'2-digit',minute:'2-digit',second:'2-digit',timeZoneName:'short'};
function localize(root){var ts=root.querySelectorAll('time[datetime]');for(var i=0;i<ts.length;i++){var d=new Date(ts[i].getAttribute('datetime'));if(!isNaN(d.getTime()))ts[i].textContent=d.toLocaleString(undefined,fmt);}}
function tick(){var ps=document.querySelectorAll('progress[data-start]');for(var i=0;i<ps.length;i++){var p=ps[i],s=Date.parse(p.getAttribute('data-start')),d=Number(p.getAttribute('data-duration'));var v=Math.min(d,Math.max(0,Date.now()-s));p.value=v;var l=document.getElementById(p.id+'-left');if(l)l.textContent=Math.max(0,Math.ceil((d-v)/1000))+' s left';}}
localize(document);tick();setInterval(tick,500);
var live=document.querySelector('[data-live]');
if(live&&window.EventSource){
 var es=new EventSource(live.getAttribute('data-live'));
 es.addEventListener('fragment',function(e){var m=JSON.parse(e.data);var el=document.getElementById(m.id);if(!el)return;var t=document.createElement('template');t.innerHTML=m.html;var n=t.content.firstElementChild;if(!n)return;el.replaceWith(n);localize(n);tick();});
 es.addEventListener('done',function(){es.close();if(live.hasAttribute('data-reload-on-done'))location.reload();});
}
})();`;
