// The page's own CSS and script, inlined: report.html opens from disk with no
// network (its Content-Security-Policy allows nothing but inline style and
// script and data: images). The script is plain ES5 so any browser runs it:
//  - node sections are stored as inert markup and built when opened, a
//    capture per part in short tasks, and laid out only near the screen
//    (content-visibility), so a run over hundreds of nodes opens and expands
//    without a long task; the first ones start open;
//  - a finding's evidence is built when its box is first opened;
//  - a flame graph is drawn when it first comes near the screen (its other
//    view in a later task), not when its node is built;
//  - tables sort by a header click (numbers by their data-v key);
//  - flame graphs zoom on a frame click, reset, search by regex, and show the
//    hovered frame (the same layout rules as src/stacks/flamegraph.ts).

export const CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

export const CSS = `
:root{--fg:#1d2330;--muted:#5d6677;--line:#dde1e8;--bg:#fff;--panel:#f6f7f9;--accent:#2458b3;
--crit:#b42318;--crit-bg:#fdecea;--warn:#a15c00;--warn-bg:#fff4e0;--info:#2458b3;--info-bg:#eaf1fc;--ok:#137333}
*{box-sizing:border-box}
html{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
body{margin:0 auto;max-width:1280px;padding:20px 24px 60px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px;padding-bottom:4px;border-bottom:2px solid var(--line)}
h3{font-size:15px;margin:18px 0 6px}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:12.5px}
a{color:var(--accent)}
.muted{color:var(--muted)}.note{color:var(--muted);font-size:13px;margin:4px 0 12px}
.error{color:var(--crit);background:var(--crit-bg);padding:6px 10px;border-radius:4px}
.warn{color:var(--warn);background:var(--warn-bg);padding:6px 10px;border-radius:4px}
.ok-note{color:var(--ok)}
header.run{border-bottom:1px solid var(--line);padding-bottom:12px}
.subtitle{color:var(--muted);margin:0 0 10px}
.grid{display:grid;grid-template-columns:max-content 1fr;gap:3px 16px;margin:8px 0}
.grid dt{color:var(--muted)}.grid dd{margin:0}
.totals{display:flex;flex-wrap:wrap;gap:10px;margin-top:10px}
.totals div{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:6px 12px;min-width:110px}
.totals b{display:block;font-size:18px}
.pill{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;background:var(--panel);border:1px solid var(--line)}
.status-completed{color:var(--ok);border-color:#a8d5b5;background:#e9f6ec}
.status-partial,.status-cancelled{color:var(--warn);border-color:#f0cf9a;background:var(--warn-bg)}
.status-failed{color:var(--crit);border-color:#f1b2ab;background:var(--crit-bg)}
ol.findings{list-style:none;padding:0;margin:0}
.finding{border:1px solid var(--line);border-left:5px solid var(--info);border-radius:4px;padding:8px 12px;margin:0 0 8px;background:#fff}
.finding-critical{border-left-color:var(--crit)}.finding-warning{border-left-color:var(--warn)}
.finding-head{display:flex;gap:10px;align-items:baseline}
.finding-title{font-weight:600}
.finding-where{color:var(--muted);font-size:13px;margin-top:2px}
.sev{font-size:11px;font-weight:700;text-transform:uppercase;padding:1px 6px;border-radius:3px;white-space:nowrap;color:var(--info);background:var(--info-bg)}
.sev-critical{color:var(--crit);background:var(--crit-bg)}.sev-warning{color:var(--warn);background:var(--warn-bg)}
.evidence-box summary{cursor:pointer;color:var(--muted);font-size:13px;margin-top:4px}
dl.evidence,dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:6px 0;font-size:13px}
dl.evidence dt,dl.facts dt{color:var(--muted)}dl.evidence dd,dl.facts dd{margin:0;word-break:break-word}
.table-wrap{overflow-x:auto;margin:6px 0 12px;max-height:560px;overflow-y:auto;border:1px solid var(--line);border-radius:4px}
table{border-collapse:collapse;width:100%;font-size:12.5px}
caption{text-align:left;font-weight:600;padding:6px 8px;background:var(--panel)}
th,td{padding:3px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
td{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-word}
th{position:sticky;top:0;background:#eef0f4;cursor:pointer;user-select:none;white-space:nowrap;font-size:12px}
th:hover{background:#e2e6ee}
th[aria-sort=ascending]::after{content:" \\25B2";font-size:9px}th[aria-sort=descending]::after{content:" \\25BC";font-size:9px}
.num{text-align:right;white-space:nowrap}
tbody tr:nth-child(even){background:#fafbfc}tbody tr:hover{background:#f0f4fb}
.toolbar{display:flex;gap:8px;margin:6px 0 10px}
button{font:inherit;font-size:13px;padding:3px 10px;border:1px solid #b9c0cc;border-radius:4px;background:#fff;cursor:pointer}
button:hover{background:var(--panel)}
details.node{border:1px solid var(--line);border-radius:6px;margin:0 0 10px;background:#fff}
details.node>summary{cursor:pointer;padding:8px 12px;background:var(--panel);border-radius:6px;list-style-position:inside}
details.node[open]>summary{border-bottom:1px solid var(--line);border-radius:6px 6px 0 0}
.node-name{font-weight:700;font-size:15px;margin-right:6px}
.node-facts{color:var(--muted);font-size:13px}
.node-body{padding:4px 14px 10px}
section.capture{border-top:1px dashed var(--line);margin-top:14px}
.kind{font-size:11px;font-weight:500;color:var(--muted);border:1px solid var(--line);border-radius:3px;padding:0 5px;vertical-align:middle}
.meta,.files{color:var(--muted);font-size:13px;margin:2px 0 6px}
.hists{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:6px 28px}
.hist-fig{margin:4px 0}.hist-fig figcaption{font-size:13px;margin-bottom:2px}
svg.hist{max-width:100%;height:auto;font:11px ui-monospace,Menlo,Consolas,monospace}
svg.hist .track{fill:#f1f3f6}svg.hist .bar{fill:#3d74c9}svg.hist .bar.tail{fill:#e07b24}
svg.hist text{fill:#333}svg.hist .row:hover .track{fill:#e4e9f1}
.flame{margin:8px 0 12px}
.fg-tools{display:flex;gap:8px;align-items:center;margin-bottom:4px;flex-wrap:wrap}
.fg-search{font:inherit;font-size:13px;padding:3px 8px;border:1px solid #b9c0cc;border-radius:4px;min-width:240px}
.fg-status{font-size:12.5px;font-family:ui-monospace,Menlo,Consolas,monospace}
.fg-main{display:grid;grid-template-columns:minmax(0,1fr) minmax(260px,30%);gap:12px;align-items:start}
/* Off screen, findings, nodes and captures skip layout (a 300-row table costs ~130 ms; a 50-node run's
   thousand findings relaid out on every opened evidence box ~100 ms); the sizes are placeholders until first drawn. */
section.capture{content-visibility:auto;contain-intrinsic-size:auto 800px}
details.node{content-visibility:auto;contain-intrinsic-size:auto 48px}
li.finding{content-visibility:auto;contain-intrinsic-size:auto 80px}
.fg-graph{border:1px solid var(--line);border-radius:4px;overflow:hidden}.fg-graph:not([data-drawn]){min-height:160px}
.fg-side .table-wrap{margin:0;max-height:70vh}
.fg-top td:first-child{max-width:260px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;word-break:normal}
.fg-views{display:inline-flex}.fg-view{border-radius:0}.fg-view:first-child{border-radius:4px 0 0 4px}.fg-view:last-child{border-radius:0 4px 4px 0;border-left:0}
.fg-view[aria-pressed=true]{background:#e2e8f4;font-weight:600}
@media (max-width:1000px){.fg-main{grid-template-columns:1fr}}
svg.flamegraph{display:block;width:100%;height:auto}
svg.flamegraph g.f{cursor:pointer}
footer{margin-top:40px;color:var(--muted);font-size:12px;border-top:1px solid var(--line);padding-top:8px}
@media print{details.node{break-inside:avoid}.toolbar,.fg-tools{display:none}}
`;

export const SCRIPT = `
(function () {
  'use strict';
  function all(root, sel) { return Array.prototype.slice.call(root.querySelectorAll(sel)); }

  // ---- sortable tables
  function sortBy(table, th, col) {
    var numeric = th.classList.contains('num');
    var now = th.getAttribute('aria-sort');
    var dir = now === 'descending' ? 'ascending' : now === 'ascending' ? 'descending' : numeric ? 'descending' : 'ascending';
    all(table, 'thead th').forEach(function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', dir);
    var body = table.tBodies[0];
    var keyed = Array.prototype.slice.call(body.rows).map(function (row, i) {
      var cell = row.cells[col], k;
      if (!cell) k = numeric ? -Infinity : '';
      else if (numeric) { k = parseFloat(cell.getAttribute('data-v')); if (isNaN(k)) k = -Infinity; }
      else k = cell.textContent.toLowerCase();
      return [k, i, row];
    });
    keyed.sort(function (a, b) {
      var c = a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
      return (dir === 'ascending' ? c : -c) || a[1] - b[1];
    });
    var frag = document.createDocumentFragment();
    keyed.forEach(function (k) { frag.appendChild(k[2]); });
    body.appendChild(frag);
  }
  function initTables(root) {
    all(root, 'table.sortable').forEach(function (table) {
      if (table.getAttribute('data-ready')) return;
      table.setAttribute('data-ready', '1');
      all(table, 'thead th').forEach(function (th, col) {
        th.tabIndex = 0;
        th.addEventListener('click', function () { sortBy(table, th, col); });
        th.addEventListener('keydown', function (e) {
          if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sortBy(table, th, col); }
        });
      });
    });
  }

  // ---- flame graphs
  var CW = 11 * 0.62;
  function num(g, a) { return parseFloat(g.getAttribute(a)); }
  // One viewer per drawn graph (top-down, bottom-up); the tools act on the one shown.
  function viewer(graph, status, hint) {
    var frames = all(graph, 'svg g.f');
    if (!frames.length) return null;
    var root = frames[0];
    var W = num(root, 'data-w');
    var X0 = parseFloat(root.querySelector('rect').getAttribute('x')) - num(root, 'data-x');
    var v = { graph: graph, note: '' };
    function fit(g, w) {
      var n = g.getAttribute('data-n'), m = Math.floor((w - 6) / CW), t = g.querySelector('text');
      t.textContent = m < 3 ? '' : (n.length <= m ? n : n.slice(0, m - 2) + '..');
    }
    v.zoom = function (target) {
      target = target || root;
      var tx = num(target, 'data-x'), tw = num(target, 'data-w'), td = num(target, 'data-d'), s = W / tw, e = 0.001;
      frames.forEach(function (g) {
        var x = num(g, 'data-x'), w = num(g, 'data-w'), d = num(g, 'data-d'), nx, nw;
        if (d < td && x <= tx + e && x + w >= tx + tw - e) { nx = 0; nw = W; g.style.opacity = '0.55'; }
        else if (d >= td && x >= tx - e && x + w <= tx + tw + e) { nx = (x - tx) * s; nw = w * s; g.style.opacity = ''; }
        else { g.style.display = 'none'; return; }
        g.style.display = '';
        var r = g.querySelector('rect');
        r.setAttribute('x', X0 + nx);
        r.setAttribute('width', nw);
        g.querySelector('text').setAttribute('x', X0 + nx + 3);
        fit(g, nw);
      });
      graph.parentNode.parentNode.parentNode.setAttribute('data-zoomed', target === root ? '' : target.getAttribute('data-n'));
    };
    v.search = function (q) {
      var re = null, spans = [], hits = 0;
      if (q) {
        try { re = new RegExp(q, 'i'); }
        catch (err) { re = new RegExp(q.replace(/[.*+?^\${}()|[\\]\\\\]/g, '\\\\$&'), 'i'); }
      }
      frames.forEach(function (g) {
        var r = g.querySelector('rect');
        if (!r.hasAttribute('data-c')) r.setAttribute('data-c', r.getAttribute('fill'));
        var hit = re !== null && re.test(g.getAttribute('data-n'));
        r.setAttribute('fill', hit ? '#d050e0' : r.getAttribute('data-c'));
        if (hit) { hits++; spans.push([num(g, 'data-x'), num(g, 'data-x') + num(g, 'data-w')]); }
      });
      spans.sort(function (a, b) { return a[0] - b[0]; });
      var covered = 0, end = -1;
      spans.forEach(function (s) {
        if (s[1] <= end) return;
        covered += s[1] - Math.max(s[0], end);
        end = s[1];
      });
      v.note = re ? hits + ' frames matched, ' + (100 * covered / W).toFixed(2) + '% of the total' : '';
      if (status) status.textContent = v.note || hint;
    };
    // One listener per graph, not per frame: thousands of frames cost nothing to wire.
    function frameOf(e) { var t = e.target; while (t && t !== graph) { if (t.classList && t.classList.contains('f')) return t; t = t.parentNode; } return null; }
    graph.addEventListener('click', function (e) { var g = frameOf(e); if (g) v.zoom(g); });
    graph.addEventListener('mouseover', function (e) { var g = frameOf(e); if (g && status) status.textContent = g.querySelector('title').textContent; });
    graph.addEventListener('mouseout', function () { if (status) status.textContent = v.note || hint; });
    return v;
  }
  // A graph's SVG waits as text (flame.ts, inertSvg) until the graph is first shown.
  function drawGraph(graph) {
    var src = graph.querySelector('textarea.fg-src');
    if (src) {
      graph.insertAdjacentHTML('beforeend', src.value);
      src.parentNode.removeChild(src);
      graph.setAttribute('data-drawn', '1');
    }
  }
  function initFlame(box) {
    if (box.getAttribute('data-ready')) return;
    box.setAttribute('data-ready', '1');
    var status = box.querySelector('.fg-status');
    var hint = status ? status.textContent : '';
    var graphs = {}, views = {}, shown = null;
    all(box, '.fg-graph').forEach(function (graph) {
      var name = graph.getAttribute('data-view') || 'top-down';
      graphs[name] = graph;
      if (!graph.hidden && !shown) shown = name;
    });
    if (!shown) return;
    var reset = box.querySelector('.fg-reset'), input = box.querySelector('.fg-search');
    function view(name) {
      if (!views[name]) { drawGraph(graphs[name]); views[name] = viewer(graphs[name], status, hint); }
      return views[name];
    }
    function current() { return view(shown); }
    if (reset) reset.addEventListener('click', function () { var v = current(); if (v) v.zoom(); });
    if (input) input.addEventListener('input', function () { var v = current(); if (v) v.search(input.value); });
    all(box, '.fg-view').forEach(function (button) {
      button.addEventListener('click', function () {
        var name = button.getAttribute('data-view');
        if (!graphs[name] || name === shown) return;
        graphs[shown].hidden = true;
        graphs[name].hidden = false;
        shown = name;
        all(box, '.fg-view').forEach(function (b) { b.setAttribute('aria-pressed', String(b === button)); });
        var v = current();
        if (v && input) v.search(input.value);
      });
    });
    // Drawn in a task of its own once it comes near the screen; the other view
    // (hidden, so parsed but not laid out) in a later one, ready to switch to.
    function drawShown() {
      setTimeout(function () {
        current();
        Object.keys(graphs).forEach(function (name, i) { setTimeout(function () { view(name); }, 50 * (i + 1)); });
      }, 0);
    }
    if (typeof IntersectionObserver !== 'function') return drawShown();
    var seen = new IntersectionObserver(function (entries) {
      if (!entries.some(function (e) { return e.isIntersecting; })) return;
      seen.disconnect();
      drawShown();
    }, { rootMargin: '200px' });
    seen.observe(box);
  }

  function init(root) {
    initTables(root);
    all(root, '.flame').forEach(initFlame);
  }

  // ---- node sections, built when first opened: the node's intro, then one
  // capture per part (each its own raw-text script), parts built in tasks of
  // at most ~30 ms so the page keeps answering (a long task blocks input).
  var queue = [], pumping = false, ready = false;
  function partsOf(details) {
    var base = details.getAttribute('data-body'), out = [], el;
    for (var i = 0; (el = document.getElementById(base + '-' + i)); i++) out.push(el);
    return out;
  }
  function buildPart(item) {
    var details = item[0], source = item[1], body = details.querySelector('.node-body');
    if (source && source.parentNode && body) {
      body.insertAdjacentHTML('beforeend', source.textContent);
      source.parentNode.removeChild(source);
      init(body);
    }
    if (!source) details.setAttribute('data-built', '1');
  }
  function pump() {
    pumping = false;
    var start = Date.now();
    while (queue.length && Date.now() - start < 30) buildPart(queue.shift());
    if (queue.length) { pumping = true; setTimeout(pump, 0); }
    else if (!ready) { ready = true; document.documentElement.setAttribute('data-ready', '1'); }
  }
  function materialize(details) {
    if (details.getAttribute('data-queued')) return;
    details.setAttribute('data-queued', '1');
    partsOf(details).forEach(function (source) { queue.push([details, source]); });
    queue.push([details, null]);
    if (!pumping) { pumping = true; setTimeout(pump, 0); }
  }
  // Now, in this task: a link into the node needs its target drawn.
  function materializeNow(details) {
    materialize(details);
    var mine = queue.filter(function (item) { return item[0] === details; });
    queue = queue.filter(function (item) { return item[0] !== details; });
    mine.forEach(buildPart);
  }
  // A finding's evidence, built when its box is first opened (toggle does not bubble: caught on the way down).
  document.addEventListener('toggle', function (e) {
    var box = e.target;
    if (!box.classList || !box.classList.contains('evidence-box') || !box.open) return;
    var source = document.getElementById(box.getAttribute('data-body'));
    if (!source) return;
    box.insertAdjacentHTML('beforeend', source.textContent);
    source.parentNode.removeChild(source);
    init(box);
  }, true);
  var nodes = all(document, 'details.node');
  nodes.forEach(function (d) {
    d.addEventListener('toggle', function () { if (d.open) materialize(d); });
    if (d.open) materialize(d);
  });
  var building = 0;
  function setAll(open) {
    var run = ++building;
    if (!open) { nodes.forEach(function (d) { d.open = false; }); return; }
    var i = 0;
    (function next() {
      if (run !== building) return;
      var start = Date.now();
      while (i < nodes.length && Date.now() - start < 20) { materialize(nodes[i]); nodes[i].open = true; i++; }
      if (i < nodes.length) setTimeout(next, 0);
    })();
  }
  var expand = document.getElementById('expand-all'), collapse = document.getElementById('collapse-all');
  if (expand) expand.addEventListener('click', function () { setAll(true); });
  if (collapse) collapse.addEventListener('click', function () { setAll(false); });

  // Links to a capture or node open its section first.
  all(document, 'a.goto').forEach(function (a) {
    a.addEventListener('click', function (e) {
      var node = document.getElementById(a.getAttribute('data-node'));
      if (!node) return;
      materializeNow(node);
      node.open = true;
      var target = document.getElementById(a.getAttribute('href').slice(1));
      if (target) { e.preventDefault(); target.scrollIntoView(); history.replaceState(null, '', a.getAttribute('href')); }
    });
  });
  init(document);
  if (!queue.length) { ready = true; document.documentElement.setAttribute('data-ready', '1'); }
})();
`;
