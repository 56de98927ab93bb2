"use strict";
// Keeps the page up to date from its event stream (?stream=1 on this same
// URL, so it works wherever the handler is mounted), rendering the markup
// page.gohtml renders. Every name and reason goes in through textContent.
(() => {
  const $ = (id) => document.getElementById(id);
  const order = ["open", "forced-open", "half-open", "disabled", "closed"];
  const shownTransitions = 3;

  const num = (n) => Math.max(n, 0).toLocaleString("en-US");
  const pct = (r) => (r * 100).toFixed(1) + "%";
  const iso = (t) => new Date(t).toISOString().replace(/\.\d+Z$/, "Z");
  const clock = (t) => new Date(t).toISOString().slice(11, 19);

  function ago(at, now) {
    const s = Math.max(0, Math.floor((Date.parse(now) - Date.parse(at)) / 1000));
    if (s < 60) return s + "s ago";
    if (s < 3600) return Math.floor(s / 60) + "m ago";
    if (s < 86400) return Math.floor(s / 3600) + "h ago";
    return Math.floor(s / 86400) + "d ago";
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function add(parent, ...children) {
    for (const c of children) parent.append(c);
    return parent;
  }

  const badge = (state, cls) => el("span", (cls || "badge") + " st-" + state, state);

  function summary(s) {
    const p = $("summary");
    p.replaceChildren();
    const states = Object.keys(s.states).filter((k) => s.states[k] > 0);
    const rest = states.filter((k) => !order.includes(k)).sort();
    for (const st of order.filter((k) => states.includes(k)).concat(rest)) {
      add(p, add(el("span", "chip st-" + st), el("b", "", num(s.states[st])), " " + st));
    }
    add(p, el("span", "total", num(s.total) + " in all"));
  }

  function shown(s) {
    const n = s.breakers.length;
    let out = n > 0 ? "Showing " + num(s.offset + 1) + "–" + num(s.offset + n) : "Showing 0";
    out += " of " + num(s.matched);
    if (s.query !== "") out += " matching “" + s.query + "”";
    return out;
  }

  function pageLink(a, s, offset) {
    const v = new URLSearchParams({ limit: s.limit, offset: offset });
    if (s.query !== "") v.set("q", s.query);
    a.href = "?" + v.toString();
  }

  function pager(s) {
    $("prev").hidden = s.offset === 0;
    $("next").hidden = s.offset + s.limit >= s.matched;
    pageLink($("prev"), s, Math.max(0, s.offset - s.limit));
    pageLink($("next"), s, s.offset + s.limit);
  }

  function rateTitle(b) {
    let t = num(b.failures) + " failed of " + num(b.calls) + " calls in the window; " +
      num(b.consecutive_failures) + " consecutive failures";
    if (b.calls < b.min_calls) t += "; the rate rules need " + num(b.min_calls) + " calls";
    return t;
  }

  function transition(t, now) {
    const time = el("time", "", clock(t.at));
    time.dateTime = iso(t.at);
    time.title = iso(t.at);
    return add(el("li"), time, " ", el("span", "ago", ago(t.at, now)), " ",
      badge(t.from, "badge sm"), " → ", badge(t.to, "badge sm"), " ", el("span", "reason", t.reason));
  }

  function transitions(b, now, open) {
    const td = el("td", "transitions");
    if (!b.transitions || b.transitions.length === 0) {
      return add(td, el("span", "muted", b.transitions ? "none" : "not kept"));
    }
    const newest = b.transitions.map((t) => transition(t, now)).reverse();
    add(td, add(el("ol"), ...newest.slice(0, shownTransitions)));
    const earlier = newest.slice(shownTransitions);
    if (earlier.length > 0) {
      const d = add(el("details"), el("summary", "", earlier.length + " earlier"), add(el("ol"), ...earlier));
      d.open = open;
      add(td, d);
    }
    return td;
  }

  function numCell(text, muted) {
    return el("td", muted ? "num muted" : "num", text);
  }

  function row(b, now, open) {
    const tr = el("tr", "st-" + b.state);
    tr.dataset.name = b.name;
    tr.dataset.state = b.state;
    const known = b.calls >= b.min_calls;
    const rate = numCell(pct(b.failure_rate), !known);
    rate.title = rateTitle(b);
    const inFlight = numCell(num(b.in_flight));
    if (b.hung > 0) add(inFlight, " ", el("span", "warn", num(b.hung) + " hung"));
    const t = b.totals;
    return add(tr, el("td", "name", b.name), add(el("td"), badge(b.state)), rate,
      numCell(pct(b.slow_call_rate), !known), numCell(num(b.calls)), inFlight,
      numCell(num(t.successes)), numCell(num(t.failures)), numCell(num(t.slow_calls)),
      numCell(num(t.excluded)), numCell(num(b.rejected)), numCell(num(b.trips)),
      transitions(b, now, open));
  }

  function rows(s) {
    const tbody = $("rows");
    const open = new Set();
    for (const d of tbody.querySelectorAll("details[open]")) open.add(d.closest("tr").dataset.name);
    if (s.breakers.length === 0) {
      const td = el("td", "", s.query !== "" ? "No breaker's name contains “" + s.query + "”." : "No breakers.");
      td.colSpan = 13;
      tbody.replaceChildren(add(el("tr", "empty"), td));
      return;
    }
    tbody.replaceChildren(...s.breakers.map((b) => row(b, s.time, open.has(b.name))));
  }

  function render(s) {
    summary(s);
    rows(s);
    $("shown").textContent = shown(s);
    pager(s);
    $("updated").textContent = clock(s.time);
    $("updated").dateTime = iso(s.time);
  }

  function live(state, text) {
    $("live").className = "dot " + state;
    $("live-text").textContent = text;
  }

  let source = null;
  function connect(params) {
    if (source) source.close();
    const v = new URLSearchParams(params);
    v.set("stream", "1");
    v.delete("format");
    source = new EventSource("?" + v.toString());
    source.addEventListener("snapshot", (e) => {
      render(JSON.parse(e.data));
      live("", "live");
    });
    source.addEventListener("error", () => live("err", "reconnecting…"));
  }

  // Filtering as one types: the URL follows, so a reload or a shared link
  // shows the same rows.
  let timer = 0;
  $("q").addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const v = new URLSearchParams(location.search);
      v.set("q", $("q").value);
      v.delete("offset");
      history.replaceState(null, "", "?" + v.toString());
      connect(v);
    }, 250);
  });
  connect(location.search);
})();
