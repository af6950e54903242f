/*
 * Tokenwise cost dashboard. Plain JavaScript and Chart.js (served by the gateway from its WebJar): no build
 * step, no CDN. Every figure comes from the gateway's JSON API, called with the key kept in this tab's
 * sessionStorage (or, when a proxy in front adds the Authorization header, with none of its own). With the admin
 * key the API answers for every team; with a team's key it answers for that team only, and the page says so.
 */
(function () {
  'use strict';

  var KEY_STORAGE = 'tokenwise.adminKey';
  var REFRESH_MILLIS = 15000;
  var LATENCY_WINDOW = '15m';
  var TOP_LEADERBOARD = 10;
  var TOP_LATENCY = 8;
  var PALETTE = ['#4f46e5', '#0d9488', '#d97706', '#db2777', '#0284c7', '#7c3aed', '#65a30d', '#ea580c'];
  var OTHER_COLOR = '#94a3b8';

  var headerAuth = (document.querySelector('meta[name="tokenwise-auth"]') || {}).content === 'header';
  var charts = {};
  var timer = null;
  var loading = false;

  // ---- small helpers --------------------------------------------------------------------------------

  function $(id) { return document.getElementById(id); }

  /** Creates an element; text children are set as text, never parsed as HTML. */
  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (name) {
        if (name === 'text') { node.textContent = attrs[name]; }
        else if (name === 'className') { node.className = attrs[name]; }
        else if (attrs[name] !== null && attrs[name] !== undefined) { node.setAttribute(name, attrs[name]); }
      });
    }
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined) { continue; }
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    }
    return node;
  }

  function num(v) { return v === null || v === undefined ? NaN : Number(v); }

  var compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });
  var whole = new Intl.NumberFormat('en');

  function usd(v) {
    v = num(v);
    if (!isFinite(v)) { return '–'; }
    if (v === 0) { return '$0'; }
    var a = Math.abs(v);
    if (a >= 1000) { return '$' + whole.format(Math.round(v)); }
    if (a >= 0.1) { return '$' + v.toFixed(2); }
    // Small amounts keep two significant digits, in plain notation: $0.00042, never 4.2e-4.
    var digits = Math.min(12, 1 - Math.floor(Math.log10(a)));
    return '$' + v.toFixed(digits).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
  }

  function tokens(v) { v = num(v); return isFinite(v) ? compact.format(v) : '–'; }
  function pct(v) { v = num(v); return isFinite(v) ? (v * 100).toFixed(1) + '%' : '–'; }

  function ms(v) {
    v = num(v);
    if (!isFinite(v)) { return '–'; }
    if (v < 1) { return v.toFixed(2) + ' ms'; }
    if (v < 1000) { return (v < 10 ? v.toFixed(1) : Math.round(v)) + ' ms'; }
    return (v / 1000).toFixed(2) + ' s';
  }

  function time(iso) {
    var d = new Date(iso);
    var today = new Date();
    var t = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
    return d.toDateString() === today.toDateString() ? t : d.toLocaleDateString([], { month: 'short', day: 'numeric' }) + ' ' + t;
  }

  function bucketLabel(iso, range) {
    var d = new Date(iso);
    if (range === '24h') { return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }); }
    if (range === '7d') { return d.toLocaleDateString([], { weekday: 'short' }) + ' ' + d.toLocaleTimeString([], { hour: '2-digit' }); }
    return d.toLocaleDateString([], { month: 'short', day: 'numeric' });
  }

  function color(i, other) { return other ? OTHER_COLOR : PALETTE[i % PALETTE.length]; }

  function rangeNoun(range) {
    return { '24h': 'the last 24 hours', '7d': 'the last 7 days', '30d': 'the last 30 days' }[range] || range;
  }

  // ---- the API ----------------------------------------------------------------------------------------

  function apiError(status, message) {
    var e = new Error(message);
    e.status = status;
    return e;
  }

  function api(path) {
    var headers = { 'Accept': 'application/json' };
    var key = sessionStorage.getItem(KEY_STORAGE);
    if (key) { headers.Authorization = 'Bearer ' + key; }
    return fetch(path, { headers: headers, cache: 'no-store', credentials: 'same-origin' }).then(function (r) {
      return r.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch (ignored) { body = null; }
        if (!r.ok) {
          var message = body && body.error && body.error.message ? body.error.message : 'HTTP ' + r.status;
          throw apiError(r.status, message);
        }
        return body;
      });
    });
  }

  // ---- charts -----------------------------------------------------------------------------------------

  if (window.Chart) {
    Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
    Chart.defaults.font.size = 12;
    Chart.defaults.color = '#5b6478';
    Chart.defaults.animation = false;
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.plugins.legend.labels.boxWidth = 12;
    Chart.defaults.plugins.legend.labels.boxHeight = 12;
  }

  /**
   * Budget bars are drawn in percent of each team's limit, so a $5 and a $5,000 budget read alike: a grey track
   * up to the limit (100 %), a dashed line at the soft threshold and, right of the limit, what was spent of what.
   */
  var budgetMarksPlugin = {
    id: 'budgetMarks',
    afterDatasetsDraw: function (chart, args, options) {
      var rows = options && options.rows;
      if (!rows) { return; }
      var ctx = chart.ctx;
      var x = chart.scales.x;
      var area = chart.chartArea;
      var meta = chart.getDatasetMeta(1);
      ctx.save();
      ctx.font = '12px ' + Chart.defaults.font.family;
      ctx.textBaseline = 'middle';
      rows.forEach(function (r, i) {
        var bar = meta.data[i];
        if (!bar) { return; }
        var half = bar.height / 2 + 4;
        if (r.percent !== null) {
          ctx.strokeStyle = '#1e2333';
          ctx.lineWidth = 1.5;
          ctx.setLineDash([4, 3]);
          var soft = x.getPixelForValue(options.soft);
          ctx.beginPath();
          ctx.moveTo(soft, bar.y - half);
          ctx.lineTo(soft, bar.y + half);
          ctx.stroke();
          ctx.setLineDash([]);
          ctx.strokeStyle = '#8b93a7';
          var limit = x.getPixelForValue(100);
          ctx.beginPath();
          ctx.moveTo(limit, bar.y - half);
          ctx.lineTo(limit, bar.y + half);
          ctx.stroke();
        }
        ctx.fillStyle = r.percent !== null && r.percent >= 100 ? '#b3203c' : '#3b4256';
        var at = r.percent === null ? area.left + 6 : x.getPixelForValue(Math.max(100, r.percent)) + 8;
        ctx.fillText(r.caption, Math.min(at, area.right + 4), bar.y);
      });
      ctx.restore();
    }
  };

  /** Shows a chart in {@code holder} (created once, then updated in place). */
  function chart(id, holder, config, height) {
    var existing = charts[id];
    if (existing && existing.canvas && holder.contains(existing.canvas)) {
      existing.options = config.options;
      existing.data = config.data;
      existing.canvas.parentNode.style.height = (height || 260) + 'px';
      existing.update('none');
      return existing;
    }
    if (existing) { existing.destroy(); }
    var wrap = el('div', { className: 'chart', 'data-chart': id });
    wrap.style.height = (height || 260) + 'px';
    var canvas = el('canvas', { role: 'img', 'aria-label': id });
    wrap.appendChild(canvas);
    holder.appendChild(wrap);
    if (!window.Chart) {
      wrap.replaceChildren(el('p', { className: 'empty', text: 'Chart.js is not available on this gateway: figures are in the tables.' }));
      return null;
    }
    charts[id] = new Chart(canvas, config);
    return charts[id];
  }

  function dropCharts(prefix) {
    Object.keys(charts).forEach(function (id) {
      if (id.indexOf(prefix) === 0) { charts[id].destroy(); delete charts[id]; }
    });
  }

  function usdAxis(extra) {
    var axis = { beginAtZero: true, ticks: { callback: function (v) { return usd(v); } }, grid: { color: '#eef0f5' } };
    return Object.assign(axis, extra || {});
  }

  function body(cardId) { return document.querySelector('#' + cardId + ' .body'); }

  /** Replaces a card's content with a sentence saying why there is nothing to draw. */
  function empty(cardId, prefix, message) {
    dropCharts(prefix);
    body(cardId).replaceChildren(el('p', { className: 'empty', text: message }));
  }

  /** The card's body, cleared unless it already shows the same layout (so charts are updated in place). */
  function layout(cardId, name, build) {
    var b = body(cardId);
    if (b.getAttribute('data-layout') !== name || !b.firstChild || b.firstChild.className === 'empty') {
      Object.keys(charts).forEach(function (id) {
        if (b.contains(charts[id].canvas)) { charts[id].destroy(); delete charts[id]; }
      });
      b.replaceChildren();
      build(b);
      b.setAttribute('data-layout', name);
    }
    return b;
  }

  function table(columns, rows) {
    var head = el('tr');
    columns.forEach(function (c) { head.appendChild(el('th', { className: c.num ? 'num' : null, text: c.title, scope: 'col' })); });
    var tbody = el('tbody');
    rows.forEach(function (row) {
      var tr = el('tr', { className: row.className || null });
      columns.forEach(function (c) {
        var value = c.value(row);
        var td = el('td', { className: (c.num ? 'num' : '') + (c.truncate ? ' truncate' : '') || null });
        if (value instanceof Node) { td.appendChild(value); } else { td.textContent = value; }
        if (c.truncate && typeof value === 'string') { td.title = value; }
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
    return el('div', { className: 'table-wrap' }, el('table', null, el('thead', null, head), tbody));
  }

  function badge(text, kind) { return el('span', { className: 'badge ' + (kind || ''), text: text }); }

  // ---- the cards ----------------------------------------------------------------------------------------

  function renderKpis(summary, efficiency, latency, alerts) {
    var t = summary.totals;
    var judged = 0;
    var succeeded = 0;
    (efficiency.data || []).forEach(function (m) {
      if (m.cost_per_success_usd !== null) { judged += num(m.cost_per_success_usd) * m.succeeded; }
      succeeded += m.succeeded;
    });
    var overhead = latency.overall && latency.overall.overhead;
    var items = [
      ['Spend', usd(t.cost_usd), rangeNoun(summary.range)],
      ['Calls', whole.format(t.requests), t.requests ? pct(t.errors / t.requests) + ' failed' : 'no calls yet'],
      ['Tokens', tokens(t.input_tokens + t.output_tokens), tokens(t.input_tokens) + ' in · ' + tokens(t.output_tokens) + ' out'],
      ['Cost per successful task', succeeded ? usd(judged / succeeded) : '–', succeeded ? whole.format(succeeded) + ' tasks succeeded' : 'no task outcomes yet'],
      ['Gateway overhead p99', overhead ? ms(overhead.p99) : '–', overhead ? 'p50 ' + ms(overhead.p50) + ' · ' + latency.window : 'no completed calls'],
      ['Open alerts', String(alerts.length), alerts.length ? alerts.length + ' need attention' : 'all clear']
    ];
    var holder = $('kpis');
    holder.replaceChildren();
    items.forEach(function (item, i) {
      holder.appendChild(el('div', { className: 'kpi' + (i === 5 && alerts.length ? ' alerting' : ''), 'data-kpi': item[0] },
        el('div', { className: 'label', text: item[0] }),
        el('div', { className: 'value', text: item[1] }),
        el('div', { className: 'detail', text: item[2] })));
    });
  }

  function renderBudgets(summary) {
    var teams = summary.teams;
    var soft = summary.soft_threshold_percent;
    $('budgets-sub').textContent = 'Share of each budget spent this period: grey track to the limit, dashed line at the soft threshold ('
      + soft + '%). Teams without a budget: spend in ' + rangeNoun(summary.range) + '.'
      + (teams.other ? ' The ' + teams.shown.length + ' biggest spenders of ' + teams.count + ' teams are named.' : '');
    if (!teams.shown.length) {
      empty('card-budgets', 'budgets', 'No team has a budget or spent anything in ' + rangeNoun(summary.range) + ' yet.');
      return;
    }
    var rows = teams.shown.map(function (t) {
      if (!t.budget) {
        return { team: t.team, percent: null, caption: usd(t.cost_usd) + ' spent · no budget', t: t };
      }
      var limit = num(t.budget.limit_usd);
      var spent = num(t.budget.spent_usd);
      return { team: t.team, percent: limit > 0 ? spent / limit * 100 : 0, t: t,
        caption: usd(spent) + ' of ' + usd(limit) + ' ' + (t.budget.period === 'total' ? 'in total' : t.budget.period) };
    });
    // Most at risk first; teams without a budget after them, by spend.
    rows.sort(function (a, b) {
      if ((a.percent === null) !== (b.percent === null)) { return a.percent === null ? 1 : -1; }
      return a.percent === null ? num(b.t.cost_usd) - num(a.t.cost_usd) : b.percent - a.percent;
    });
    if (teams.other) {
      var o = teams.other;
      var limit = num(o.budget_limit_usd);
      rows.push({ team: 'other (' + o.teams + ' teams)', other: true, percent: limit > 0 ? num(o.budget_spent_usd) / limit * 100 : null,
        caption: limit > 0 ? usd(o.budget_spent_usd) + ' of ' + usd(limit) + ' together' : usd(o.cost_usd) + ' spent · no budgets' });
    }
    var maxPercent = rows.reduce(function (m, r) { return r.percent === null ? m : Math.max(m, r.percent); }, 100);
    var colors = rows.map(function (r) {
      if (r.other) { return OTHER_COLOR; }
      return r.percent >= 100 ? '#d92d4b' : r.percent >= soft ? '#d97706' : '#4f46e5';
    });
    var b = layout('card-budgets', 'chart', function () {});
    chart('budgets', b, {
      type: 'bar',
      data: {
        labels: rows.map(function (r) { return r.team; }),
        datasets: [
          { label: 'limit', data: rows.map(function (r) { return r.percent === null ? null : 100; }), backgroundColor: '#eceef4',
            grouped: false, barPercentage: 0.75, maxBarThickness: 26, order: 2 },
          { label: 'spent', data: rows.map(function (r) { return r.percent; }), backgroundColor: colors,
            grouped: false, barPercentage: 0.45, maxBarThickness: 14, order: 1 }
        ]
      },
      options: {
        indexAxis: 'y',
        layout: { padding: { right: 190 } },
        scales: {
          x: { min: 0, max: Math.ceil(maxPercent / 25) * 25,
            ticks: { stepSize: 25, maxRotation: 0, callback: function (v) { return v + '%'; } }, grid: { color: '#eef0f5' } },
          y: { grid: { display: false } }
        },
        plugins: {
          legend: { display: false },
          budgetMarks: { rows: rows, soft: soft },
          tooltip: {
            filter: function (item) { return item.datasetIndex === 1 && rows[item.dataIndex].percent !== null; },
            callbacks: {
              label: function (item) {
                var r = rows[item.dataIndex];
                var line = r.percent.toFixed(1) + '% used: ' + r.caption;
                return r.t && r.t.budget ? [line, usd(r.t.budget.remaining_usd) + ' left, ' + usd(r.t.budget.reserved_usd) + ' reserved by calls in flight'] : line;
              }
            }
          }
        }
      },
      plugins: [budgetMarksPlugin]
    }, Math.max(220, 32 * rows.length + 50));
  }

  function renderOverTime(summary) {
    var s = summary.spend_over_time;
    $('over-time-sub').textContent = 'Spend per team in ' + rangeNoun(summary.range) + ', per '
      + (summary.bucket_seconds >= 86400 ? 'day' : summary.bucket_seconds >= 21600 ? '6 hours' : 'hour')
      + (s.series.some(function (x) { return x.other; }) ? '; the 8 biggest teams by name, the rest as other.' : '.');
    if (!summary.totals.requests) {
      empty('card-over-time', 'overtime', 'No calls in ' + rangeNoun(summary.range) + '. Spend shows up here within seconds of the first call.');
      return;
    }
    var b = layout('card-over-time', 'chart', function () {});
    chart('overtime', b, {
      type: 'bar',
      data: {
        labels: s.buckets.map(function (iso) { return bucketLabel(iso, summary.range); }),
        datasets: s.series.map(function (x, i) {
          return { label: x.team, data: x.usd.map(num), backgroundColor: color(i, x.other), stack: 'spend' };
        })
      },
      options: {
        scales: { x: { stacked: true, grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 12 } }, y: usdAxis({ stacked: true }) },
        plugins: {
          legend: { position: 'bottom' },
          tooltip: { callbacks: { label: function (item) { return item.dataset.label + ': ' + usd(item.raw); } } }
        }
      }
    });
  }

  function renderModels(summary) {
    var models = summary.models;
    $('models-sub').textContent = 'In ' + rangeNoun(summary.range) + ', most expensive first'
      + (models.other ? '; ' + models.shown.length + ' of ' + models.count + ' models named, the rest summed as other.' : '.');
    if (!models.shown.length) {
      empty('card-models', 'models', 'No calls in ' + rangeNoun(summary.range) + ', so no model has cost anything yet.');
      return;
    }
    var rows = models.shown.slice();
    if (models.other) {
      rows.push(Object.assign({ model: 'other (' + models.other.models + ' models)', other: true }, models.other));
    }
    var labels = rows.map(function (r) { return r.model; });
    var height = Math.max(150, 30 * rows.length + 60);
    var b = layout('card-models', 'pair', function (b) {
      b.appendChild(el('div', { className: 'pair' },
        el('div', { 'data-slot': 'spend' }, el('h3', { text: 'Spend (USD)' })),
        el('div', { 'data-slot': 'tokens' }, el('h3', { text: 'Tokens' }))));
    });
    chart('models-spend', b.querySelector('[data-slot=spend]'), {
      type: 'bar',
      data: { labels: labels, datasets: [{ label: 'spend', data: rows.map(function (r) { return num(r.cost_usd); }),
        backgroundColor: rows.map(function (r, i) { return color(i, r.other); }) }] },
      options: {
        indexAxis: 'y', scales: { x: usdAxis(), y: { grid: { display: false } } },
        plugins: { legend: { display: false }, tooltip: { callbacks: { label: function (item) {
          var r = rows[item.dataIndex];
          return usd(r.cost_usd) + ' over ' + whole.format(r.requests) + ' calls' + (r.errors ? ' (' + r.errors + ' failed)' : '');
        } } } }
      }
    }, height);
    chart('models-tokens', b.querySelector('[data-slot=tokens]'), {
      type: 'bar',
      data: { labels: labels, datasets: [
        { label: 'input', data: rows.map(function (r) { return r.input_tokens; }), backgroundColor: '#818cf8', stack: 't' },
        { label: 'output', data: rows.map(function (r) { return r.output_tokens; }), backgroundColor: '#2dd4bf', stack: 't' }
      ] },
      options: {
        indexAxis: 'y',
        scales: { x: { stacked: true, beginAtZero: true, ticks: { callback: function (v) { return tokens(v); } }, grid: { color: '#eef0f5' } },
          y: { stacked: true, grid: { display: false } } },
        plugins: { legend: { position: 'bottom' }, tooltip: { callbacks: { label: function (item) { return item.dataset.label + ': ' + whole.format(item.raw) + ' tokens'; } } } }
      }
    }, height);
  }

  /**
   * What the caches saved: the response cache (what its hits would have cost), the providers' prompt caches (cached
   * input at its discount) and the opportunities the prompt cache watch found (prompt_cache_opportunity alerts, each
   * with the monthly saving it estimates); savings over time, and the response cache's hit rate per team and model.
   */
  function renderSavings(summary, alerts) {
    var s = summary.savings;
    var opportunities = alerts.filter(function (a) { return a.type === 'prompt_cache_opportunity'; });
    var monthly = opportunities.reduce(function (sum, a) { return sum + num(a.value); }, 0);
    var lookups = s.cache_hits + s.cache_misses;
    $('savings-sub').textContent = 'In ' + rangeNoun(summary.range) + ': what the response cache saved (what its hits '
      + 'would have cost at the provider), what the providers\' prompt caches saved (cached input at its discount), and '
      + 'what a prompt cache could still save.';
    var b = layout('card-savings', 'savings', function (b) {
      b.appendChild(el('div', { className: 'figures', 'data-slot': 'figures' }));
      b.appendChild(el('div', { 'data-slot': 'chart' }));
      b.appendChild(el('div', { className: 'pair', 'data-slot': 'rates' }));
      b.appendChild(el('div', { 'data-slot': 'opportunities' }));
    });
    var figures = [
      ['Response cache', usd(s.cache_saved_usd), lookups ? whole.format(s.cache_hits) + ' hits of ' + whole.format(lookups)
        + ' lookups (' + pct(s.cache_hits / lookups) + ')' : 'no cached calls'],
      ['Provider prompt cache', usd(s.prompt_cache_saved_usd), 'cached input tokens at their discount'],
      ['Opportunities', opportunities.length ? '~' + usd(monthly) + ' a month' : 'none',
        opportunities.length ? opportunities.length + ' repeated prompt prefix' + (opportunities.length > 1 ? 'es' : '') + ' never read from cache'
          : 'no repeated long prefix left uncached']
    ];
    var figureSlot = b.querySelector('[data-slot=figures]');
    figureSlot.replaceChildren();
    figures.forEach(function (f) {
      figureSlot.appendChild(el('div', { className: 'figure', 'data-figure': f[0] },
        el('div', { className: 'label', text: f[0] }), el('div', { className: 'value', text: f[1] }),
        el('div', { className: 'detail', text: f[2] })));
    });
    var chartSlot = b.querySelector('[data-slot=chart]');
    if (num(s.cache_saved_usd) > 0 || num(s.prompt_cache_saved_usd) > 0) {
      if (chartSlot.firstChild && chartSlot.firstChild.className === 'empty') { chartSlot.replaceChildren(); }
      chart('savings', chartSlot, {
        type: 'bar',
        data: {
          labels: summary.spend_over_time.buckets.map(function (iso) { return bucketLabel(iso, summary.range); }),
          datasets: [
            { label: 'response cache', data: s.over_time.cache_saved_usd.map(num), backgroundColor: '#0d9488', stack: 's' },
            { label: 'provider prompt cache', data: s.over_time.prompt_cache_saved_usd.map(num), backgroundColor: '#65a30d', stack: 's' }
          ]
        },
        options: {
          scales: { x: { stacked: true, grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 12 } }, y: usdAxis({ stacked: true }) },
          plugins: { legend: { position: 'bottom' }, tooltip: { callbacks: { label: function (item) { return item.dataset.label + ': ' + usd(item.raw); } } } }
        }
      }, 220);
    } else {
      dropCharts('savings');
      chartSlot.replaceChildren(el('p', { className: 'empty compact', text: 'Nothing saved in ' + rangeNoun(summary.range)
        + ' yet. Enable the response cache (cache.enabled) and send repeated deterministic calls, or let a provider cache long prompts.' }));
    }
    function rates(title, field, rows) {
      if (!rows.length) {
        return el('div', null, el('h3', { text: title }), el('p', { className: 'empty compact', text: 'No cached calls yet.' }));
      }
      return el('div', null, el('h3', { text: title }), table([
        { title: field, value: function (r) { return r[field]; }, truncate: true },
        { title: 'hits', num: true, value: function (r) { return whole.format(r.hits); } },
        { title: 'misses', num: true, value: function (r) { return whole.format(r.misses); } },
        { title: 'hit rate', num: true, value: function (r) { return pct(r.hit_rate); } }
      ], rows));
    }
    b.querySelector('[data-slot=rates]').replaceChildren(rates('Hit rate per team', 'team', s.hit_rate.teams),
      rates('Hit rate per model', 'model', s.hit_rate.models));
    var list = el('ul', { className: 'opportunities' });
    opportunities.forEach(function (a) {
      list.appendChild(el('li', null,
        el('div', { className: 'meta', text: 'team ' + a.team + ' · ' + a.metric + ' · ~' + usd(a.value) + ' a month · since ' + time(a.since) }),
        el('div', { text: a.message })));
    });
    var opportunitySlot = b.querySelector('[data-slot=opportunities]');
    opportunitySlot.replaceChildren();
    if (opportunities.length) { opportunitySlot.appendChild(list); }
  }

  function renderEfficiency(efficiency, range) {
    var data = (efficiency.data || []).slice();
    $('efficiency-sub').textContent = 'Tasks whose last call was in ' + rangeNoun(range) + ', per model of that last call. '
      + 'Cost per success counts failed tasks too: it is what one success really cost. Cheapest first.';
    if (!data.length) {
      empty('card-efficiency', 'eff', 'No tasks yet. Send X-Task-Id with calls and report outcomes with POST /api/v1/tasks/{id}/outcome '
        + 'to see what each model costs per successful task.');
      return;
    }
    data.sort(function (a, b) {
      var ca = a.cost_per_success_usd === null ? Infinity : num(a.cost_per_success_usd);
      var cb = b.cost_per_success_usd === null ? Infinity : num(b.cost_per_success_usd);
      return ca - cb || b.tasks - a.tasks || (a.model < b.model ? -1 : 1);
    });
    var byTasks = data.slice().sort(function (a, b) { return b.tasks - a.tasks; });
    var keep = byTasks.slice(0, TOP_LEADERBOARD).map(function (m) { return m.model; });
    var shown = data.filter(function (m) { return keep.indexOf(m.model) >= 0; });
    var hidden = data.length - shown.length;
    var judged = shown.filter(function (m) { return m.success_rate !== null; });
    var b = layout('card-efficiency', 'pair+table', function (b) {
      b.appendChild(el('div', { className: 'pair' },
        el('div', { 'data-slot': 'cost' }, el('h3', { text: 'Cost per successful task (USD)' })),
        el('div', { 'data-slot': 'rate' }, el('h3', { text: 'Success rate' }))));
      b.appendChild(el('div', { 'data-slot': 'table' }));
      b.appendChild(el('p', { className: 'note', 'data-slot': 'note' }));
    });
    var labels = shown.map(function (m) { return m.model; });
    var height = Math.max(140, 30 * shown.length + 50);
    if (judged.length) {
      chart('eff-cost', b.querySelector('[data-slot=cost]'), {
        type: 'bar',
        data: { labels: labels, datasets: [{ label: 'cost per success', data: shown.map(function (m) { return m.cost_per_success_usd === null ? null : num(m.cost_per_success_usd); }),
          backgroundColor: shown.map(function (m, i) { return color(i); }) }] },
        options: { indexAxis: 'y', scales: { x: usdAxis(), y: { grid: { display: false } } },
          plugins: { legend: { display: false }, tooltip: { callbacks: { label: function (item) {
            var m = shown[item.dataIndex];
            return m.cost_per_success_usd === null ? 'no successful task yet' : usd(m.cost_per_success_usd) + ' per success (' + m.succeeded + ' of ' + (m.succeeded + m.failed) + ' judged tasks)';
          } } } } }
      }, height);
      chart('eff-rate', b.querySelector('[data-slot=rate]'), {
        type: 'bar',
        data: { labels: labels, datasets: [{ label: 'success rate', data: shown.map(function (m) { return m.success_rate === null ? null : num(m.success_rate) * 100; }),
          backgroundColor: shown.map(function (m) { var r = num(m.success_rate); return r >= 0.9 ? '#0f9d74' : r >= 0.7 ? '#d97706' : '#d92d4b'; }) }] },
        options: { indexAxis: 'y', scales: { x: { min: 0, max: 100, ticks: { callback: function (v) { return v + '%'; } }, grid: { color: '#eef0f5' } }, y: { grid: { display: false } } },
          plugins: { legend: { display: false }, tooltip: { callbacks: { label: function (item) { return item.raw === null ? 'no outcome yet' : item.raw.toFixed(1) + '%'; } } } } }
      }, height);
    } else {
      dropCharts('eff-');
      ['cost', 'rate'].forEach(function (slot) {
        var holder = b.querySelector('[data-slot=' + slot + ']');
        holder.replaceChildren(holder.firstChild, el('p', { className: 'empty', text: 'No task has an outcome yet: report one with POST /api/v1/tasks/{id}/outcome.' }));
      });
      b.setAttribute('data-layout', 'pair+table-empty');
    }
    b.querySelector('[data-slot=table]').replaceChildren(table([
      { title: 'model', value: function (m) { return m.model; }, truncate: true },
      { title: 'tasks', num: true, value: function (m) { return whole.format(m.tasks); } },
      { title: 'succeeded / failed', num: true, value: function (m) { return m.succeeded + ' / ' + m.failed; } },
      { title: 'pending / unknown', num: true, value: function (m) { return m.pending + ' / ' + m.unknown; } },
      { title: 'success rate', num: true, value: function (m) { return pct(m.success_rate); } },
      { title: 'cost per success', num: true, value: function (m) { return usd(m.cost_per_success_usd); } },
      { title: 'retry rate', num: true, value: function (m) { return pct(m.retry_rate); } },
      { title: 'truncation rate', num: true, value: function (m) { return pct(m.truncation_rate); } },
      { title: 'tokens per success', num: true, value: function (m) { return m.tokens_per_success === null ? '–' : tokens(m.tokens_per_success); } },
      { title: 'wasted', num: true, value: function (m) { return usd(m.wasted_cost_usd); } }
    ], shown));
    b.querySelector('[data-slot=note]').textContent = hidden > 0
      ? hidden + ' more models with fewer tasks are not shown (GET /api/v1/efficiency lists them all).' : '';
  }

  function renderLatency(latency) {
    var models = latency.models || [];
    $('latency-sub').textContent = (latency.window === 'all' ? 'Since the gateway started' : 'Last ' + latency.window.replace('m', ' minutes'))
      + ': completed calls only. Overhead is the time the gateway adds (total minus upstream).';
    if (!models.length) {
      empty('card-latency', 'lat', 'No completed calls since the gateway started, so there is no latency to show yet.');
      return;
    }
    var shown = models.slice(0, TOP_LATENCY);
    var b = layout('card-latency', 'pair+table', function (b) {
      b.appendChild(el('div', { className: 'pair' },
        el('div', { 'data-slot': 'overhead' }, el('h3', { text: 'Gateway overhead' })),
        el('div', { 'data-slot': 'upstream' }, el('h3', { text: 'Upstream' }))));
      b.appendChild(el('div', { 'data-slot': 'table' }));
    });
    var labels = shown.map(function (m) { return m.model; });
    var height = Math.max(140, 34 * shown.length + 60);
    function pick(kind, p) { return shown.map(function (m) { return m[kind] ? num(m[kind][p]) : null; }); }
    function msAxis() { return { beginAtZero: true, ticks: { callback: function (v) { return ms(v); } }, grid: { color: '#eef0f5' } }; }
    var tooltip = { callbacks: { label: function (item) { return item.dataset.label + ': ' + ms(item.raw); } } };
    chart('lat-overhead', b.querySelector('[data-slot=overhead]'), {
      type: 'bar',
      data: { labels: labels, datasets: [
        { label: 'p50', data: pick('overhead', 'p50'), backgroundColor: '#818cf8' },
        { label: 'p99', data: pick('overhead', 'p99'), backgroundColor: '#4338ca' }] },
      options: { indexAxis: 'y', scales: { x: msAxis(), y: { grid: { display: false } } }, plugins: { legend: { position: 'bottom' }, tooltip: tooltip } }
    }, height);
    chart('lat-upstream', b.querySelector('[data-slot=upstream]'), {
      type: 'bar',
      data: { labels: labels, datasets: [
        { label: 'p50', data: pick('upstream', 'p50'), backgroundColor: '#5eead4' },
        { label: 'p99', data: pick('upstream', 'p99'), backgroundColor: '#0d9488' },
        { label: 'TTFT p50', data: pick('ttft', 'p50'), backgroundColor: '#fbbf24' }] },
      options: { indexAxis: 'y', scales: { x: msAxis(), y: { grid: { display: false } } }, plugins: { legend: { position: 'bottom' }, tooltip: tooltip } }
    }, height);
    function cell(kind, p) { return function (m) { return m[kind] ? ms(m[kind][p]) : '–'; }; }
    var rows = shown.slice();
    if (models.length > 1) { rows.push(Object.assign({ model: 'all models', className: 'other' }, latency.overall)); }
    b.querySelector('[data-slot=table]').replaceChildren(table([
      { title: 'model', value: function (m) { return m.model; }, truncate: true },
      { title: 'calls', num: true, value: function (m) { return m.upstream ? whole.format(m.upstream.count) : '0'; } },
      { title: 'overhead p50', num: true, value: cell('overhead', 'p50') },
      { title: 'p99', num: true, value: cell('overhead', 'p99') },
      { title: 'upstream p50', num: true, value: cell('upstream', 'p50') },
      { title: 'p99', num: true, value: cell('upstream', 'p99') },
      { title: 'TTFT p50', num: true, value: cell('ttft', 'p50') },
      { title: 'p99', num: true, value: cell('ttft', 'p99') }
    ], rows));
  }

  function renderAlerts(alerts) {
    if (!alerts.length) {
      empty('card-alerts', 'alerts', 'No open alerts. Budget thresholds, quality drift and billing discrepancies appear here when they happen.');
      body('card-alerts').firstChild.className = 'empty compact';
      return;
    }
    var list = el('ul', { className: 'alerts' });
    alerts.forEach(function (a) {
      var kind = a.type === 'budget_threshold' ? 'bad' : a.type === 'billing_discrepancy' ? 'info'
        : a.type === 'prompt_cache_opportunity' ? 'ok' : 'warn';
      list.appendChild(el('li', { className: a.type },
        el('div', { className: 'meta' }, badge(a.type.replace(/_/g, ' '), kind),
          el('span', { text: (a.model ? 'model ' + a.model : a.key ? 'key ' + a.key + ' · team ' + a.team : 'team ' + a.team) + (a.metric ? ' · ' + a.metric : '') + (a.source ? ' · found by ' + a.source : '') }),
          el('span', { text: 'since ' + time(a.since) })),
        el('div', { className: 'message', text: a.message })));
    });
    body('card-alerts').replaceChildren(list);
    body('card-alerts').setAttribute('data-layout', 'list');
  }

  /** Pass rate of each probe run, one line per probed model; the reference runs are the first of each line. */
  function renderProbes(probes) {
    var models = (probes.models || []).filter(function (m) { return m.runs && m.runs.length; });
    if (!probes.enabled) {
      $('probes-sub').textContent = 'Scheduled probes grade a few tasks on chosen models through the gateway itself.';
      empty('card-probes', 'probes', 'No probes are configured (probes: in the configuration, see docs/eval.md).');
      body('card-probes').firstChild.className = 'empty compact';
      return;
    }
    $('probes-sub').textContent = probes.tasks_per_run + ' tasks of ' + probes.suite + ' every ' + probes.interval_seconds
      + ' s as team ' + probes.team + '; a model whose pass rate or answer length changed against its first '
      + probes.reference_runs + ' runs raises a quality_drift alert found by probe.';
    if (!models.length) {
      empty('card-probes', 'probes', 'No probe run yet: the first starts within seconds of start-up.');
      return;
    }
    var b = layout('card-probes', 'chart', function () {});
    chart('probes', b, {
      type: 'line',
      data: {
        datasets: models.map(function (m, i) {
          return {
            label: m.model + (m.alarmed ? ' (drift)' : ''),
            data: m.runs.filter(function (r) { return r.pass_rate !== null; }).map(function (r) {
              return { x: Date.parse(r.at), y: num(r.pass_rate) };
            }),
            borderColor: color(i), backgroundColor: color(i), pointRadius: 2, tension: 0.2
          };
        })
      },
      options: {
        parsing: false,
        scales: {
          x: { type: 'linear', grid: { display: false },
            ticks: { maxRotation: 0, autoSkipPadding: 16, callback: function (v) { return new Date(v).toLocaleTimeString(); } } },
          y: { min: 0, max: 1, ticks: { callback: function (v) { return Math.round(v * 100) + '%'; } }, grid: { color: '#eef0f5' } }
        },
        plugins: {
          legend: { position: 'bottom' },
          tooltip: { callbacks: {
            title: function (items) { return items.length ? new Date(items[0].raw.x).toLocaleString() : ''; },
            label: function (item) { return item.dataset.label + ': ' + pct(item.raw.y); } } }
        }
      }
    });
  }

  function renderCalls(calls) {
    var data = calls.data || [];
    if (!data.length) {
      empty('card-calls', 'calls', 'No calls recorded yet. Point an OpenAI client at this gateway and its calls are listed here.');
      return;
    }
    body('card-calls').replaceChildren(table([
      { title: 'time', value: function (c) { return time(c.created_at); } },
      { title: 'team', value: function (c) { return c.team; }, truncate: true },
      { title: 'model', value: function (c) { return c.model; }, truncate: true },
      { title: 'tokens in / out', num: true, value: function (c) { return whole.format(c.input_tokens) + ' / ' + whole.format(c.output_tokens); } },
      { title: 'cost', num: true, value: function (c) { return usd(c.cost_usd); } },
      { title: 'latency', num: true, value: function (c) { return ms(c.latency_ms); } },
      { title: 'status', value: function (c) { return badge(c.status === 'ok' ? 'ok' : c.status.replace(/_/g, ' ') + ' ' + c.http_status, c.status === 'ok' ? 'ok' : 'bad'); } },
      { title: 'task', value: function (c) { return c.task_id || ''; }, truncate: true },
      { title: 'record', value: function (c) {
        var a = el('a', { href: '/api/v1/requests/' + encodeURIComponent(c.id), 'data-request-id': c.id, text: c.id });
        return a;
      } }
    ], data));
    body('card-calls').setAttribute('data-layout', 'table');
  }

  // ---- loading ----------------------------------------------------------------------------------------

  function setStatus(text, error) {
    var s = $('status');
    s.textContent = text;
    s.className = 'status' + (error ? ' error' : '');
  }

  function showLogin(message) {
    stopTimer();
    dropCharts('');
    $('dashboard').hidden = true;
    $('controls').hidden = true;
    $('login').hidden = false;
    var error = $('login-error');
    error.hidden = !message;
    error.textContent = message || '';
    $('admin-key').focus();
  }

  function showDashboard() {
    $('login').hidden = true;
    $('dashboard').hidden = false;
    $('controls').hidden = false;
  }

  /** Says whose figures these are: a team's (signed in with its key) or every team's (the admin key). */
  function showScope(team) {
    var scope = $('scope');
    scope.hidden = !team;
    scope.textContent = team ? 'team ' + team : '';
    if (team) { document.body.setAttribute('data-team', team); } else { document.body.removeAttribute('data-team'); }
    $('calls-sub').textContent = team
      ? 'Newest first: the calls made with your key; the id opens the full record.'
      : 'Newest first; the id opens the full record.';
  }

  function stopTimer() {
    if (timer) { clearTimeout(timer); timer = null; }
  }

  function schedule() {
    stopTimer();
    if ($('auto').checked) { timer = setTimeout(load, REFRESH_MILLIS); }
  }

  function load() {
    if (loading) { return; }
    if (document.hidden) { schedule(); return; }
    loading = true;
    var range = $('range').value;
    setStatus('loading…');
    api('/api/v1/dashboard/summary?range=' + encodeURIComponent(range)).then(function (summary) {
      showDashboard();
      showScope(summary.team);
      var failures = [];
      function soft(path, fallback) {
        return api(path).catch(function (e) {
          if (e.status === 401 || e.status === 403) { throw e; }
          failures.push(path.split('?')[0] + ': ' + e.message);
          return fallback;
        });
      }
      return Promise.all([
        soft('/api/v1/efficiency?group_by=model&from=' + encodeURIComponent(summary.from), { data: [] }),
        soft('/api/v1/latency?window=' + LATENCY_WINDOW, { window: LATENCY_WINDOW, models: [], overall: null }).then(function (l) {
          return l.models && l.models.length ? l : soft('/api/v1/latency?window=all', l);
        }),
        soft('/api/v1/alerts', []),
        soft('/api/v1/requests?limit=50', { data: [] }),
        soft('/api/v1/probes', { enabled: false, models: [] })
      ]).then(function (parts) {
        var banner = $('banner');
        banner.hidden = !failures.length;
        banner.textContent = failures.length ? 'Some figures could not be loaded: ' + failures.join('; ') : '';
        renderKpis(summary, parts[0], parts[1], parts[2]);
        renderBudgets(summary);
        renderOverTime(summary);
        renderModels(summary);
        renderSavings(summary, parts[2]);
        renderEfficiency(parts[0], summary.range);
        renderLatency(parts[1]);
        renderAlerts(parts[2]);
        renderProbes(parts[4]);
        renderCalls(parts[3]);
        document.body.setAttribute('data-loaded', summary.generated_at);
        setStatus('updated ' + new Date().toLocaleTimeString());
      });
    }).catch(function (e) {
      if (e.status === 401 || e.status === 403) {
        sessionStorage.removeItem(KEY_STORAGE);
        showLogin(e.status === 401 ? 'That key is not valid on this gateway.' : e.message);
        return;
      }
      setStatus('refresh failed: ' + e.message, true);
    }).then(function () {
      loading = false;
      if (!$('dashboard').hidden) { schedule(); }
    });
  }

  function showRecord(id) {
    var dialog = $('record-dialog');
    $('record-json').textContent = 'loading…';
    dialog.showModal();
    api('/api/v1/requests/' + encodeURIComponent(id)).then(function (r) {
      $('record-json').textContent = JSON.stringify(r, null, 2);
    }).catch(function (e) {
      $('record-json').textContent = 'Could not load the record: ' + e.message;
    });
  }

  // ---- wiring -----------------------------------------------------------------------------------------

  $('login-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var key = $('admin-key').value.trim();
    if (!key) { return; }
    sessionStorage.setItem(KEY_STORAGE, key);
    $('admin-key').value = '';
    load();
  });
  $('logout').addEventListener('click', function () {
    sessionStorage.removeItem(KEY_STORAGE);
    showLogin(headerAuth ? 'Signed out. (A proxy in front of the gateway may still sign you in again.)' : null);
  });
  $('refresh').addEventListener('click', load);
  $('range').addEventListener('change', load);
  $('auto').addEventListener('change', function () { if ($('auto').checked) { load(); } else { stopTimer(); } });
  document.addEventListener('visibilitychange', function () { if (!document.hidden && !$('dashboard').hidden) { load(); } });
  document.addEventListener('click', function (event) {
    var link = event.target.closest && event.target.closest('a[data-request-id]');
    if (link && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
      event.preventDefault();
      showRecord(link.getAttribute('data-request-id'));
    }
  });

  if (sessionStorage.getItem(KEY_STORAGE) || headerAuth) {
    load();
  } else {
    showLogin(null);
  }
}());
