/**
 * The built-in analytics page: one self-contained HTML document (inline CSS and JS, charts drawn
 * as inline SVG by the page's own code, no external asset), which reads the analytics API with
 * `fetch`. Data is written into the document with `textContent` only, never as HTML, so ids and
 * log lines cannot inject markup.
 */

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Settings of one rendering of the page. */
export interface AnalyticsPageSettings {
  /** Path prefix of the API (including the app's global prefix), e.g. `/api/analytics`. */
  apiBase: string;
  /** Nonce of the inline script and style, matching the Content-Security-Policy header. */
  nonce: string;
}

/** Renders the analytics page. */
export function renderAnalyticsPage(settings: AnalyticsPageSettings): string {
  return PAGE.replace(/__NONCE__/g, escapeAttribute(settings.nonce)).replace(
    '__API_BASE__',
    escapeAttribute(settings.apiBase),
  );
}

// The client script avoids template literals so this file can hold it in one template string.
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="analytics-api-base" content="__API_BASE__">
<title>Analytics</title>
<style nonce="__NONCE__">
  :root { --bg:#f5f6f8; --card:#fff; --ink:#1d2330; --muted:#6b7385; --line:#e3e6ec; --accent:#3b6fd8;
          --ok:#2e9e5b; --bad:#d1435b; --warn:#d99a21; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; background:var(--bg); color:var(--ink); }
  header { display:flex; flex-wrap:wrap; gap:12px; align-items:center; padding:14px 20px; background:var(--card); border-bottom:1px solid var(--line); }
  header h1 { font-size:18px; margin:0 16px 0 0; }
  header label { color:var(--muted); font-size:12px; display:flex; gap:6px; align-items:center; }
  select, input, button { font:inherit; padding:5px 8px; border:1px solid var(--line); border-radius:6px; background:#fff; color:var(--ink); }
  button { cursor:pointer; background:var(--accent); color:#fff; border-color:var(--accent); }
  button.secondary { background:#fff; color:var(--ink); border-color:var(--line); }
  .spacer { flex:1; }
  main { padding:16px 20px 40px; display:grid; gap:16px; grid-template-columns:repeat(2, minmax(0,1fr)); }
  .banner { grid-column:1/-1; padding:10px 14px; border-radius:8px; background:#fdecef; color:#8a1c30; border:1px solid #f3c2cc; }
  .banner[hidden] { display:none; }
  .widgets { grid-column:1/-1; display:grid; gap:12px; grid-template-columns:repeat(5, minmax(0,1fr)); }
  .widget { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:14px 16px; }
  .widget .label { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
  .widget .value { font-size:26px; font-weight:600; margin-top:4px; font-variant-numeric:tabular-nums; }
  .widget .sub { color:var(--muted); font-size:12px; }
  section { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:14px 16px; min-width:0; overflow-x:auto; }
  section.wide { grid-column:1/-1; }
  section h2 { font-size:14px; margin:0 0 10px; }
  table { width:100%; border-collapse:collapse; font-variant-numeric:tabular-nums; }
  th, td { text-align:left; padding:5px 6px; border-bottom:1px solid var(--line); white-space:nowrap; overflow:hidden; text-overflow:ellipsis; max-width:320px; }
  th { color:var(--muted); font-weight:500; font-size:12px; }
  td.num, th.num { text-align:right; }
  .msg { color:var(--muted); padding:8px 0; }
  .msg.error { color:var(--bad); }
  .legend { display:flex; gap:14px; flex-wrap:wrap; margin-top:8px; color:var(--muted); font-size:12px; }
  .legend .sw { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:5px; vertical-align:-1px; }
  .sw.completed { background:var(--ok); } .sw.failed { background:var(--bad); } .sw.timeout { background:var(--warn); }
  .lvl-error, .lvl-fatal { color:var(--bad); font-weight:600; } .lvl-warn { color:var(--warn); font-weight:600; }
  svg { display:block; width:100%; height:auto; }
  svg text { font-size:11px; fill:var(--muted); }
  #custom-range[hidden] { display:none; }
  .toolbar { display:flex; flex-wrap:wrap; gap:10px; align-items:center; margin-bottom:8px; }
  .toolbar label { color:var(--muted); font-size:12px; display:flex; gap:6px; align-items:center; }
  .chip { display:inline-block; padding:1px 8px; border-radius:10px; background:#e8eefb; color:var(--accent); font-size:12px; font-weight:500; }
  button.chip { border:none; cursor:pointer; }
  .chip[hidden], [hidden] { display:none !important; }
  button.link { background:none; border:none; color:var(--accent); padding:0; text-decoration:underline; cursor:pointer; font:inherit; }
  a { color:var(--accent); }
  .st-completed { color:var(--ok); } .st-failed, .st-timeout { color:var(--bad); font-weight:600; }
  .scroll { overflow-x:auto; }
  .waterfall td { vertical-align:middle; }
  .waterfall tr.failed-row td { background:#fdecef; }
  .waterfall td.step { max-width:none; }
  .kind { display:inline-block; min-width:78px; margin-right:6px; font-size:11px; color:var(--muted); text-transform:uppercase; letter-spacing:.03em; }
  .track { position:relative; height:14px; min-width:220px; background:#f0f2f6; border-radius:3px; }
  .bar { position:absolute; top:2px; height:10px; border-radius:2px; background:var(--accent); min-width:2px; }
  .bar.k-workflow { background:#7a8599; } .bar.k-agent { background:#8a5cd1; } .bar.k-llm { background:#3b6fd8; } .bar.k-tool { background:#2aa3b8; }
  .bar.failed { background:var(--bad); outline:2px solid #8a1c30; }
  .totals { display:flex; flex-wrap:wrap; gap:8px 18px; margin:4px 0 10px; }
  .totals b { font-variant-numeric:tabular-nums; }
  @media (max-width: 900px) { main { grid-template-columns:1fr; } .widgets { grid-template-columns:repeat(2, minmax(0,1fr)); } .track { min-width:140px; } }
  @media (max-width: 520px) { main { padding:10px 8px 30px; } header { padding:10px; } .widgets { grid-template-columns:1fr 1fr; } .waterfall .opt { display:none; } .waterfall .kind { display:block; min-width:0; font-size:10px; } .track { min-width:90px; } .waterfall td.step { white-space:normal; } }
</style>
</head>
<body>
<header>
  <h1>Analytics</h1>
  <label>Range
    <select id="range">
      <option value="1">Last hour</option>
      <option value="24" selected>Last 24 hours</option>
      <option value="168">Last 7 days</option>
      <option value="720">Last 30 days</option>
      <option value="2160">Last 90 days</option>
      <option value="custom">Custom…</option>
    </select>
  </label>
  <span id="custom-range" hidden>
    <label>From <input type="datetime-local" id="from"></label>
    <label>To <input type="datetime-local" id="to"></label>
  </span>
  <button id="refresh" type="button">Refresh</button>
  <span class="spacer"></span>
  <label>API token <input type="password" id="token" autocomplete="off" placeholder="Bearer token (if required)"></label>
  <button id="save-token" type="button" class="secondary">Use token</button>
</header>
<main>
  <div id="banner" class="banner" role="alert" hidden></div>
  <div class="widgets">
    <div class="widget"><div class="label">Success rate</div><div class="value" id="w-success">–</div><div class="sub" id="w-success-sub"></div></div>
    <div class="widget"><div class="label">Tokens</div><div class="value" id="w-tokens">–</div><div class="sub" id="w-tokens-sub"></div></div>
    <div class="widget"><div class="label">Cost</div><div class="value" id="w-cost">–</div><div class="sub" id="w-cost-sub"></div></div>
    <div class="widget"><div class="label">LLM calls</div><div class="value" id="w-calls">–</div><div class="sub" id="w-calls-sub"></div></div>
    <div class="widget"><div class="label">Error rate</div><div class="value" id="w-errors">–</div><div class="sub" id="w-errors-sub"></div></div>
  </div>
  <section><h2>Cost by model</h2><div id="cost-by-model"></div></section>
  <section><h2>Cost over time</h2><div id="cost-over-time"></div></section>
  <section><h2>Agent leaderboard</h2><div id="agents"></div></section>
  <section><h2>Workflow status</h2><div id="workflows"></div></section>
  <section class="wide" id="runs-section" aria-labelledby="runs-heading"><h2 id="runs-heading">Runs <span id="runs-filter" class="chip" hidden></span></h2>
    <div class="toolbar">
      <label>Kind <select id="runs-kind"><option value="">all</option><option value="workflow">workflow runs</option><option value="agent">agent runs</option></select></label>
      <label>Status <select id="runs-status"><option value="">all</option><option value="completed">completed</option><option value="failed">failed</option><option value="timeout">timeout</option></select></label>
      <button id="runs-clear" type="button" class="secondary" hidden>Show all runs</button>
    </div>
    <div id="runs" class="scroll"></div>
    <button id="runs-more" type="button" class="secondary" hidden>Older runs</button>
  </section>
  <section class="wide" id="run-view" aria-labelledby="run-title" hidden><h2 id="run-title" tabindex="-1">Run</h2>
    <div id="run-detail"></div></section>
  <section class="wide"><h2>Recent logs <button type="button" id="logs-filter" class="chip" title="Show every log line" hidden></button>
    <select id="log-level"><option value="">all levels</option><option value="error">error</option><option value="warn">warn</option><option value="info">info</option><option value="debug">debug</option></select></h2>
    <div id="logs"></div></section>
</main>
<script nonce="__NONCE__">
(function () {
  'use strict';
  var API = document.querySelector('meta[name="analytics-api-base"]').getAttribute('content');
  var TOKEN_KEY = 'analyticsApiToken';
  var SVG_NS = 'http://www.w3.org/2000/svg';
  var PALETTE = ['#3b6fd8', '#2e9e5b', '#d99a21', '#8a5cd1', '#d1435b', '#2aa3b8', '#7a8599', '#c9649b'];
  var unauthorized = false;

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, kids) {
    var node = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { if (attrs[k] !== undefined && attrs[k] !== null) node.setAttribute(k, attrs[k]); });
    (kids || []).forEach(function (kid) { node.appendChild(typeof kid === 'string' ? document.createTextNode(kid) : kid); });
    return node;
  }
  function sv(tag, attrs, kids) {
    var node = document.createElementNS(SVG_NS, tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    (kids || []).forEach(function (kid) { node.appendChild(typeof kid === 'string' ? document.createTextNode(kid) : kid); });
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  function message(target, text, isError) { clear(target).appendChild(el('div', { 'class': isError ? 'msg error' : 'msg' }, [text])); }

  // ----- formatting ------------------------------------------------------------------------
  function int(n) { return Number(n).toLocaleString('en-US'); }
  function pct(rate) { return rate === null || rate === undefined ? '–' : (rate * 100).toFixed(1) + '%'; }
  function ms(v) { return v === null || v === undefined ? '–' : (v >= 1000 ? (v / 1000).toFixed(2) + ' s' : Math.round(v) + ' ms'); }
  /** Rounds an exact decimal string half away from zero to the given decimals, without floats. */
  function roundDecimal(text, places) {
    var neg = text.charAt(0) === '-';
    var parts = (neg ? text.slice(1) : text).split('.');
    var frac = (parts[1] || '').padEnd(places + 1, '0');
    var scaled = BigInt(parts[0] + frac.slice(0, places));
    if (Number(frac.charAt(places)) >= 5) scaled += 1n;
    var s = scaled.toString().padStart(places + 1, '0');
    var whole = s.slice(0, s.length - places);
    var dec = s.slice(s.length - places);
    var grouped = whole.replace(/\\B(?=(\\d{3})+(?!\\d))/g, ',');
    var isZero = /^[0,]*$/.test(grouped) && /^0*$/.test(dec);
    return (neg && !isZero ? '-' : '') + grouped + (places > 0 ? '.' + dec : '');
  }
  /** Dollars for display: cents precision from $1 up, four decimals below (LLM calls are cheap). */
  function usd(usdText) {
    var abs = usdText.charAt(0) === '-' ? usdText.slice(1) : usdText;
    return '$' + roundDecimal(usdText, Number(abs.split('.')[0]) >= 1 ? 2 : 4);
  }

  /** Exact cents string to exact dollars string (moves the decimal point two places). */
  function centsToUsd(cents) {
    var neg = cents.charAt(0) === '-';
    var parts = (neg ? cents.slice(1) : cents).split('.');
    var whole = parts[0].padStart(3, '0');
    // padStart leaves at most one leading zero in front of the cents: "005" gives "0" and "05".
    return (neg ? '-' : '') + whole.slice(0, -2) + '.' + whole.slice(-2) + (parts[1] || '');
  }

  // ----- API -------------------------------------------------------------------------------
  function token() { try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; } }
  function describe(json, res) {
    if (json && json.message) return Array.isArray(json.message) ? json.message.join('; ') : String(json.message);
    return res.status + ' ' + res.statusText;
  }
  function api(path, params) {
    var query = new URLSearchParams(params || {}).toString();
    var headers = { Accept: 'application/json' };
    var t = token();
    if (t) headers.Authorization = 'Bearer ' + t;
    return fetch(API + path + (query ? '?' + query : ''), { headers: headers, credentials: 'same-origin' }).then(function (res) {
      return res.text().then(function (body) {
        var json = null;
        try { json = body ? JSON.parse(body) : null; } catch (e) { json = null; }
        if (!res.ok) {
          if (res.status === 401) unauthorized = true;
          var error = new Error(res.status + ': ' + describe(json, res));
          error.status = res.status;
          throw error;
        }
        return json;
      });
    });
  }

  // ----- range -----------------------------------------------------------------------------
  function rangeParams() {
    var choice = $('range').value;
    if (choice !== 'custom') return { hours: choice };
    var from = $('from').value, to = $('to').value;
    var params = {};
    if (from) params.from = new Date(from).toISOString();
    if (to) params.to = new Date(to).toISOString();
    return params;
  }
  function rangeHours() {
    var p = rangeParams();
    if (p.hours) return Number(p.hours);
    var from = p.from ? Date.parse(p.from) : Date.now() - 864e5;
    var to = p.to ? Date.parse(p.to) : Date.now();
    return (to - from) / 36e5;
  }
  function withRange(extra) {
    var params = rangeParams();
    Object.keys(extra || {}).forEach(function (k) { params[k] = extra[k]; });
    return params;
  }

  // ----- charts ----------------------------------------------------------------------------
  function barChart(items) {
    var rowH = 24, labelW = 170, width = 560, barW = width - labelW - 90;
    var max = items.reduce(function (m, it) { return Math.max(m, it.value); }, 0) || 1;
    var chart = sv('svg', { viewBox: '0 0 ' + width + ' ' + (items.length * rowH + 4), role: 'img' });
    items.forEach(function (it, i) {
      var y = i * rowH + 2;
      var w = Math.max(1, (it.value / max) * barW);
      chart.appendChild(sv('text', { x: labelW - 8, y: y + 15, 'text-anchor': 'end' }, [it.label.length > 26 ? it.label.slice(0, 25) + '…' : it.label]));
      chart.appendChild(sv('rect', { x: labelW, y: y + 3, width: w, height: rowH - 8, rx: 3, fill: PALETTE[i % PALETTE.length] }, [sv('title', {}, [it.title])]));
      chart.appendChild(sv('text', { x: labelW + w + 6, y: y + 15 }, [it.caption]));
    });
    return chart;
  }
  function lineChart(points, format) {
    var width = 560, height = 190, left = 56, right = 10, top = 10, bottom = 26;
    var chart = sv('svg', { viewBox: '0 0 ' + width + ' ' + height, role: 'img' });
    var max = points.reduce(function (m, p) { return Math.max(m, p.value); }, 0);
    var scaleY = function (v) { return top + (height - top - bottom) * (1 - (max === 0 ? 0 : v / max)); };
    var step = points.length > 1 ? (width - left - right) / (points.length - 1) : 0;
    var scaleX = function (i) { return left + i * step; };
    [0, 0.5, 1].forEach(function (f) {
      var y = scaleY(max * f);
      chart.appendChild(sv('line', { x1: left, x2: width - right, y1: y, y2: y, stroke: '#e3e6ec' }));
      chart.appendChild(sv('text', { x: left - 6, y: y + 4, 'text-anchor': 'end' }, [format(max * f)]));
    });
    if (points.length > 0) {
      var line = points.map(function (p, i) { return (i ? 'L' : 'M') + scaleX(i).toFixed(1) + ' ' + scaleY(p.value).toFixed(1); }).join(' ');
      var area = line + ' L' + scaleX(points.length - 1).toFixed(1) + ' ' + scaleY(0) + ' L' + left + ' ' + scaleY(0) + ' Z';
      chart.appendChild(sv('path', { d: area, fill: 'rgba(59,111,216,0.12)' }));
      chart.appendChild(sv('path', { d: line, fill: 'none', stroke: '#3b6fd8', 'stroke-width': 2 }));
      points.forEach(function (p, i) {
        var hit = sv('rect', { x: scaleX(i) - Math.max(step, 4) / 2, y: top, width: Math.max(step, 4), height: height - top - bottom, fill: 'transparent' });
        hit.appendChild(sv('title', {}, [p.start + ': ' + format(p.value)]));
        chart.appendChild(hit);
      });
      var first = points[0].start, last = points[points.length - 1].start;
      chart.appendChild(sv('text', { x: left, y: height - 8 }, [first.slice(0, 16).replace('T', ' ')]));
      chart.appendChild(sv('text', { x: width - right, y: height - 8, 'text-anchor': 'end' }, [last.slice(0, 16).replace('T', ' ')]));
    }
    return chart;
  }
  function stackedBar(parts) {
    var width = 560, height = 30, total = parts.reduce(function (s, p) { return s + p.value; }, 0);
    var chart = sv('svg', { viewBox: '0 0 ' + width + ' ' + height, role: 'img' });
    var x = 0;
    parts.forEach(function (p) {
      if (!total || !p.value) return;
      var w = (p.value / total) * width;
      chart.appendChild(sv('rect', { x: x, y: 2, width: w, height: height - 4, fill: p.color }, [sv('title', {}, [p.label + ': ' + int(p.value)])]));
      x += w;
    });
    if (!total) chart.appendChild(sv('rect', { x: 0, y: 2, width: width, height: height - 4, fill: '#e3e6ec' }));
    return chart;
  }
  function table(headers, rows) {
    var head = el('tr', {}, headers.map(function (h) { return el('th', { 'class': h.num ? 'num' : null }, [h.label]); }));
    var body = rows.map(function (r) {
      return el('tr', {}, r.map(function (cell, i) {
        var c = typeof cell === 'object' && cell !== null ? cell : { text: cell };
        return el('td', { 'class': headers[i].num ? 'num' : (c.cls || null), title: c.title || null }, [c.node ? c.node : String(c.text)]);
      }));
    });
    return el('table', {}, [el('thead', {}, [head]), el('tbody', {}, body)]);
  }

  function filterButton(label, filter) {
    var b = el('button', { type: 'button', 'class': 'link', title: 'Show the runs of ' + label }, [label]);
    b.addEventListener('click', function () { filterRuns(filter); });
    return b;
  }

  // ----- sections --------------------------------------------------------------------------
  function setWidget(id, text, value, sub) {
    var node = $(id);
    node.textContent = text;
    node.setAttribute('data-value', value === null || value === undefined ? '' : String(value));
    $(id + '-sub').textContent = sub || '';
  }
  function loadSummary() {
    return api('/summary', withRange()).then(function (s) {
      setWidget('w-success', pct(s.successRate), s.successRate, int(s.agentExecutions) + ' agent runs');
      setWidget('w-tokens', int(s.totalTokens), s.totalTokens, int(s.promptTokens) + ' in / ' + int(s.completionTokens) + ' out');
      var unknownCost = [s.unpricedCalls ? s.unpricedCalls + ' unpriced calls' : '', s.usageMissingCalls ? s.usageMissingCalls + ' without usage' : ''].filter(Boolean).join(', ');
      setWidget('w-cost', usd(s.cost.usd), s.cost.usd, unknownCost || 'exact: ' + s.cost.cents + ' ¢');
      setWidget('w-calls', int(s.llmCalls), s.llmCalls, int(s.workflowRuns) + ' workflow runs');
      setWidget('w-errors', pct(s.errorRate), s.errorRate, int(s.llmFailures) + ' failed calls');
    }, function (e) {
      ['w-success', 'w-tokens', 'w-cost', 'w-calls', 'w-errors'].forEach(function (id) { setWidget(id, '–', null, ''); });
      $('w-success-sub').textContent = e.message;
      throw e;
    });
  }
  function loadCostByModel() {
    var target = $('cost-by-model');
    return api('/costs', withRange()).then(function (c) {
      clear(target);
      if (!c.byModel.length) return message(target, 'No LLM calls in this range.');
      var top = c.byModel.slice(0, 10);
      target.appendChild(barChart(top.map(function (m) {
        return { label: m.model, value: m.cost.centsValue, caption: usd(m.cost.usd), title: m.provider + '/' + m.model + ': ' + m.cost.cents + ' cents' };
      })));
      target.appendChild(table(
        [{ label: 'Model' }, { label: 'Provider' }, { label: 'Calls', num: true }, { label: 'Cost', num: true }, { label: 'Share', num: true }],
        c.byModel.map(function (m) { return [m.model, m.provider, int(m.calls), { text: usd(m.cost.usd), title: m.cost.cents + ' cents' }, pct(m.share)]; })
      ));
      target.appendChild(el('div', { 'class': 'msg' }, ['Total ' + usd(c.total.usd) + ' (' + c.total.cents + ' cents exactly)' + (c.unpricedCalls ? ', ' + c.unpricedCalls + ' unpriced calls' : '') + (c.usageMissingCalls ? ', ' + c.usageMissingCalls + ' calls without usage (cost unknown)' : '')]));
    }, function (e) { message(target, 'Could not load costs: ' + e.message, true); throw e; });
  }
  function loadCostOverTime() {
    var target = $('cost-over-time');
    var bucket = rangeHours() <= 72 ? 'hour' : 'day';
    return api('/timeseries', withRange({ metric: 'cost', bucket: bucket })).then(function (t) {
      clear(target);
      target.appendChild(lineChart(t.points, function (cents) { return '$' + (cents / 100).toFixed(cents >= 100 ? 2 : 4); }));
      target.appendChild(el('div', { 'class': 'msg' }, [t.points.length + ' ' + t.bucket + ' buckets (UTC), total ' + usd(centsToUsd(t.total.exact))]));
    }, function (e) { message(target, 'Could not load the cost series: ' + e.message, true); throw e; });
  }
  function loadAgents() {
    var target = $('agents');
    return api('/agents', withRange({ limit: '15' })).then(function (a) {
      clear(target);
      if (!a.agents.length) return message(target, 'No agent executions in this range.');
      target.appendChild(table(
        [{ label: 'Agent' }, { label: 'Type' }, { label: 'Runs', num: true }, { label: 'Success', num: true }, { label: 'Avg', num: true }, { label: 'p95', num: true }, { label: 'Cost', num: true }],
        a.agents.map(function (x) {
          return [{ node: filterButton(x.agentId, { agent_id: x.agentId }) }, x.agentType, int(x.executions), pct(x.successRate), ms(x.latency.avgMs),
            { text: ms(x.latency.p95Ms), title: x.latency.percentiles || '' }, { text: usd(x.cost.usd), title: x.cost.cents + ' cents' }];
        })
      ));
    }, function (e) { message(target, 'Could not load agents: ' + e.message, true); throw e; });
  }
  function loadWorkflows() {
    var target = $('workflows');
    return api('/workflows', withRange({ limit: '15' })).then(function (w) {
      clear(target);
      var t = w.totals;
      target.appendChild(stackedBar([
        { label: 'completed', value: t.completed, color: '#2e9e5b' },
        { label: 'failed', value: t.failed, color: '#d1435b' },
        { label: 'timeout', value: t.timeout, color: '#d99a21' },
      ]));
      target.appendChild(el('div', { 'class': 'legend' }, [
        el('span', {}, [el('span', { 'class': 'sw completed' }), 'completed ' + int(t.completed)]),
        el('span', {}, [el('span', { 'class': 'sw failed' }), 'failed ' + int(t.failed)]),
        el('span', {}, [el('span', { 'class': 'sw timeout' }), 'timeout ' + int(t.timeout)]),
        el('span', {}, ['p95 duration ' + ms(t.duration.p95Ms)]),
      ]));
      if (!w.workflows.length) return message(target, 'No workflow runs in this range.');
      target.appendChild(table(
        [{ label: 'Workflow' }, { label: 'Runs', num: true }, { label: 'Success', num: true }, { label: 'Avg', num: true }, { label: 'p95', num: true }, { label: 'Steps/run', num: true }],
        w.workflows.map(function (x) {
          return [{ node: filterButton(x.workflowId, { workflow_id: x.workflowId }) }, int(x.runs), pct(x.successRate), ms(x.duration.avgMs), ms(x.duration.p95Ms), x.avgStepsPerRun === null ? '–' : String(x.avgStepsPerRun)];
        })
      ));
    }, function (e) { message(target, 'Could not load workflows: ' + e.message, true); throw e; });
  }
  function logEntries(body) {
    if (Array.isArray(body)) return body;
    if (body && typeof body === 'object') {
      var keys = ['logs', 'items', 'entries', 'lines', 'data'];
      for (var i = 0; i < keys.length; i++) if (Array.isArray(body[keys[i]])) return body[keys[i]];
    }
    return null;
  }
  function pick(entry, names) {
    for (var i = 0; i < names.length; i++) if (entry[names[i]] !== undefined && entry[names[i]] !== null) return entry[names[i]];
    return '';
  }
  function loadLogs() {
    var target = $('logs');
    var params = { limit: '50' };
    if ($('log-level').value) params.level = $('log-level').value;
    if (logsRequestId) params.request_id = logsRequestId;
    return api('/recent-logs', params).then(function (body) {
      clear(target);
      var entries = logEntries(body);
      if (entries === null) return message(target, 'The logs endpoint answered in an unexpected format.', true);
      if (!entries.length) return message(target, 'No log lines.');
      target.appendChild(table(
        [{ label: 'Time' }, { label: 'Level' }, { label: 'Message' }, { label: 'Context' }],
        entries.map(function (e) {
          var line = typeof e === 'string' ? { message: e } : e;
          var level = String(pick(line, ['level', 'severity', 'lvl']));
          // recent-logs puts every field of the JSON line in "fields": show them as key=value.
          var source = line.fields && typeof line.fields === 'object' ? line.fields : line;
          var skip = ['time', 'timestamp', 'ts', 'level', 'severity', 'lvl', 'msg', 'message', 'line', 'event', 'fields', 'pid', 'hostname'];
          var parts = [];
          Object.keys(source).forEach(function (k) {
            if (skip.indexOf(k) >= 0) return;
            var v = source[k];
            parts.push(k + '=' + (v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v)));
          });
          var ctx = parts.join(' ');
          return [String(pick(line, ['time', 'timestamp', 'ts'])), { text: level, cls: 'lvl-' + level.toLowerCase() },
            { text: String(pick(line, ['msg', 'message', 'line'])), title: String(pick(line, ['msg', 'message', 'line'])) },
            { text: ctx, title: ctx }];
        })
      ));
    }, function (e) {
      message(target, 'Logs are not available: ' + e.message + (e.status === 404 ? ' (the recent-logs endpoint is not enabled)' : ''), true);
      throw e;
    });
  }

  // ----- runs and the run view ----------------------------------------------------------------
  var runsFilter = {};
  var runsCursor = null;
  var logsRequestId = '';
  function filterRuns(filter) {
    runsFilter = filter;
    var label = filter.workflow_id ? 'workflow ' + filter.workflow_id : filter.agent_id ? 'agent ' + filter.agent_id : '';
    $('runs-filter').textContent = label;
    $('runs-filter').hidden = !label;
    $('runs-clear').hidden = !label;
    loadRuns(false).catch(function () { return null; });
    $('runs-section').scrollIntoView({ block: 'start' });
  }
  function runLink(run) {
    return el('a', { href: '#run=' + encodeURIComponent(run.id), 'data-run-id': run.id }, [run.name + (run.runId ? ' · ' + run.runId : '')]);
  }
  function loadRuns(append) {
    var target = $('runs');
    var params = withRange({ limit: '20' });
    if ($('runs-kind').value) params.kind = $('runs-kind').value;
    if ($('runs-status').value) params.status = $('runs-status').value;
    Object.keys(runsFilter).forEach(function (k) { params[k] = runsFilter[k]; });
    if (append && runsCursor) params.cursor = runsCursor;
    return api('/runs', params).then(function (r) {
      runsCursor = r.nextCursor || null;
      $('runs-more').hidden = !runsCursor;
      var rows = r.runs.map(function (x) {
        return el('tr', { 'class': x.status !== 'completed' ? 'failed-row' : null }, [
          el('td', {}, [x.kind]),
          el('td', { title: x.errorMessage || null }, [runLink(x)]),
          el('td', { 'class': 'st-' + x.status }, [x.status + (x.errorType ? ' (' + x.errorType + ')' : '')]),
          el('td', {}, [x.startedAt.slice(0, 19).replace('T', ' ')]),
          el('td', { 'class': 'num' }, [ms(x.durationMs)]),
          el('td', { 'class': 'num' }, [int(x.tokens)]),
          el('td', { 'class': 'num', title: x.cost.cents + ' cents' }, [usd(x.cost.usd)]),
        ]);
      });
      if (append) {
        var body = target.querySelector('tbody');
        if (body) { rows.forEach(function (row) { body.appendChild(row); }); return; }
      }
      clear(target);
      if (!rows.length) return message(target, 'No runs in this range.');
      var head = el('tr', {}, ['Kind', 'Run', 'Status', 'Started (UTC)', 'Duration', 'Tokens', 'Cost'].map(function (h, i) {
        return el('th', { 'class': i >= 4 ? 'num' : null, scope: 'col' }, [h]);
      }));
      target.appendChild(el('table', { id: 'runs-table' }, [el('thead', {}, [head]), el('tbody', {}, rows)]));
    }, function (e) { message(target, 'Could not load runs: ' + e.message, true); throw e; });
  }
  function flatten(nodes, depth, out) {
    nodes.forEach(function (n) { out.push({ node: n, depth: depth }); flatten(n.children, depth + 1, out); });
    return out;
  }
  function openTree(path, title) {
    var view = $('run-view');
    var target = $('run-detail');
    view.hidden = false;
    $('run-title').textContent = title;
    message(target, 'Loading…');
    return api(path).then(function (t) {
      clear(target);
      var total = t.durationMs > 0 ? t.durationMs : 1;
      var totals = t.totals;
      target.appendChild(el('div', { 'class': 'totals', id: 'run-totals' }, [
        el('span', {}, ['Status ', el('b', { 'class': 'st-' + t.status, id: 'run-status' }, [t.status])]),
        el('span', {}, ['Started ', el('b', {}, [t.startedAt.replace('T', ' ').replace('Z', ' UTC')])]),
        el('span', {}, ['Duration ', el('b', {}, [ms(t.durationMs)])]),
        el('span', {}, ['LLM calls ', el('b', { id: 'run-llm-calls' }, [int(totals.llmCalls)])]),
        el('span', {}, ['Tools ', el('b', {}, [int(totals.toolCalls)])]),
        el('span', {}, ['Tokens ', el('b', { id: 'run-tokens', 'data-value': String(totals.tokens.total) }, [int(totals.tokens.total)])]),
        el('span', {}, ['Cost ', el('b', { id: 'run-cost', 'data-value': totals.cost.cents, title: totals.cost.cents + ' cents' }, [usd(totals.cost.usd)])]),
        el('span', {}, ['Failed steps ', el('b', {}, [int(totals.failedSteps)])]),
      ]));
      if (t.requestId) {
        var show = el('button', { type: 'button', 'class': 'secondary', id: 'run-logs' }, ['Log lines of request ' + t.requestId]);
        show.addEventListener('click', function () { showRequestLogs(t.requestId); });
        target.appendChild(el('div', { 'class': 'toolbar' }, [show]));
      }
      var rows = flatten(t.roots, 0, []).map(function (item) {
        var n = item.node;
        var failed = n.status !== 'completed';
        var step = el('td', { 'class': 'step' }, [el('span', { 'class': 'kind' }, [n.kind]), n.name]);
        step.style.paddingLeft = (6 + item.depth * 16) + 'px';
        var bar = el('div', {
          'class': 'bar k-' + n.kind + (failed ? ' failed' : ''),
          role: 'img',
          'aria-label': n.kind + ' ' + n.name + ': starts at ' + ms(n.startOffsetMs) + ', lasts ' + ms(n.durationMs) + (failed ? ', ' + n.status : ''),
        });
        bar.style.left = Math.min(100, (n.startOffsetMs / total) * 100).toFixed(3) + '%';
        bar.style.width = Math.max(0.4, Math.min(100, (n.durationMs / total) * 100)).toFixed(3) + '%';
        var cost = n.kind === 'llm' && n.priced === false ? 'unpriced' : usd(n.cost.usd);
        return el('tr', { 'class': failed ? 'failed-row' : null, 'data-kind': n.kind, 'data-name': n.name, 'data-status': n.status }, [
          step,
          el('td', {}, [el('div', { 'class': 'track' }, [bar])]),
          el('td', { 'class': 'num' }, [ms(n.durationMs)]),
          el('td', { 'class': 'num opt', 'data-value': String(n.tokens.total) }, [int(n.tokens.total)]),
          el('td', { 'class': 'num opt', 'data-value': n.cost.cents, title: n.cost.cents + ' cents' }, [cost]),
          el('td', { 'class': 'st-' + n.status, title: n.errorMessage || null }, [failed ? n.status + (n.errorType ? ': ' + n.errorType : '') + (n.errorMessage ? ' — ' + n.errorMessage : '') : n.status]),
        ]);
      });
      var head = el('tr', {}, ['Step', 'Timeline', 'Duration', 'Tokens', 'Cost', 'Status'].map(function (h, i) {
        return el('th', { 'class': (i >= 2 && i <= 4 ? 'num' : '') + (i === 3 || i === 4 ? ' opt' : ''), scope: 'col' }, [h]);
      }));
      target.appendChild(el('div', { 'class': 'scroll' }, [el('table', { 'class': 'waterfall', id: 'waterfall' }, [el('thead', {}, [head]), el('tbody', {}, rows)])]));
      view.setAttribute('data-loaded', String(Date.now()));
      $('run-title').focus();
    }, function (e) { message(target, 'Could not load the run: ' + e.message, true); view.setAttribute('data-loaded', 'error'); });
  }
  function showRequestLogs(requestId) {
    logsRequestId = requestId;
    $('logs-filter').textContent = 'request ' + requestId;
    $('logs-filter').hidden = false;
    loadLogs().catch(function () { return null; });
    $('logs').scrollIntoView({ block: 'start' });
  }
  function route() {
    var hash = location.hash.replace(/^#/, '');
    var eq = hash.indexOf('=');
    if (eq < 0) return;
    var key = hash.slice(0, eq), value = decodeURIComponent(hash.slice(eq + 1));
    if (key === 'run') openTree('/runs/' + encodeURIComponent(value), 'Run ' + value);
    if (key === 'request') openTree('/requests/' + encodeURIComponent(value), 'Request ' + value);
  }

  function refresh() {
    unauthorized = false;
    var banner = $('banner');
    banner.hidden = true;
    var jobs = [loadSummary(), loadCostByModel(), loadCostOverTime(), loadAgents(), loadWorkflows(), loadLogs(), loadRuns(false)];
    return Promise.all(jobs.map(function (j) { return j.then(function () { return null; }, function (e) { return e; }); })).then(function (errors) {
      if (unauthorized) {
        banner.textContent = 'The analytics API refused the request (401): enter its token in "API token" and press "Use token".';
        banner.hidden = false;
      } else {
        var failed = errors.filter(function (e, i) { return e && i < 5; });
        if (failed.length) { banner.textContent = 'Some reports failed: ' + failed[0].message; banner.hidden = false; }
      }
      document.body.setAttribute('data-loaded', String(Date.now()));
    });
  }

  $('range').addEventListener('change', function () {
    $('custom-range').hidden = $('range').value !== 'custom';
    if ($('range').value !== 'custom') refresh();
  });
  $('refresh').addEventListener('click', refresh);
  $('log-level').addEventListener('change', function () { loadLogs().catch(function () { return null; }); });
  $('save-token').addEventListener('click', function () {
    try {
      var t = $('token').value.trim();
      if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* storage disabled: the token cannot be kept */ }
    $('token').value = '';
    $('token').placeholder = token() ? 'token saved for this tab' : 'Bearer token (if required)';
    refresh();
  });
  $('runs-kind').addEventListener('change', function () { loadRuns(false).catch(function () { return null; }); });
  $('runs-status').addEventListener('change', function () { loadRuns(false).catch(function () { return null; }); });
  $('runs-more').addEventListener('click', function () { loadRuns(true).catch(function () { return null; }); });
  $('runs-clear').addEventListener('click', function () { filterRuns({}); });
  $('logs-filter').addEventListener('click', function () {
    logsRequestId = '';
    $('logs-filter').hidden = true;
    loadLogs().catch(function () { return null; });
  });
  window.addEventListener('hashchange', route);
  if (token()) $('token').placeholder = 'token saved for this tab';
  refresh();
  route();
})();
</script>
</body>
</html>
`;
