// The chat page: talks only to the public HTTP API (/healthz, /v1/sessions..., /v1/users/{id}/feedback).
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const store = window.localStorage;
  const state = { strings: null, lang: "en", scenes: [], llm: "none", user: null, session: null, busy: false, turn: 0 };
  // Each event's server stamp, arrival and render times (wall-clock ms): read by the browser tests and the benchmark.
  const timings = (window.sbTimings = []);
  const results = (window.sbResults = []); // each finished turn's result, as the API sent it

  function t(key, values) {
    const table = state.strings[state.lang] || state.strings.en;
    let text = table[key] !== undefined ? table[key] : state.strings.en[key];
    for (const [k, v] of Object.entries(values || {})) text = text.split("{" + k + "}").join(String(v));
    return text;
  }
  const now = () => performance.timeOrigin + performance.now();
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const c of children) if (c) node.append(c);
    return node;
  }

  function applyLanguage() {
    document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
    document.title = t("title");
    for (const n of document.querySelectorAll("[data-i18n]")) n.textContent = t(n.dataset.i18n);
    for (const n of document.querySelectorAll("[data-i18n-aria]")) n.setAttribute("aria-label", t(n.dataset.i18nAria));
    for (const n of document.querySelectorAll("[data-i18n-placeholder]")) n.placeholder = t(n.dataset.i18nPlaceholder);
    $("lang").textContent = t("lang_button");
  }

  function showStatus(message) {
    const box = $("status");
    box.textContent = message;
    box.hidden = !message;
  }

  async function api(method, path, body) {
    const headers = { "X-User-Id": state.user, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let resp;
    try {
      resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      throw new Error(t("error_network", { message: err.message }));
    }
    if (!resp.ok) throw new Error(await errorText(resp));
    return resp;
  }
  async function errorText(resp) {
    try {
      const e = (await resp.json()).error;
      return t("error_http", { status: resp.status, message: [e.message, ...(e.details || [])].join(" — ") });
    } catch (_) {
      return t("error_http", { status: resp.status, message: resp.statusText });
    }
  }

  async function openSession() {
    const scene = $("scene").value || null;
    const info = await (await api("POST", "/v1/sessions", { scene })).json();
    state.session = info.session_id;
    store.setItem("sb.session", state.session);
    return info;
  }

  // -- rendering one answer as its events arrive ----------------------------------------------------------------
  function chip(label, text, extra) {
    return el("li", { class: "chip" }, el("span", { class: "chip-label", text: label + ": " }), el("span", { text }), extra);
  }
  function sourceName(source) {
    const key = "source_" + source;
    return state.strings.en[key] !== undefined ? t(key) : source;
  }
  function renderChips(answer, data) {
    const s = data.summary;
    const list = el("ul", { class: "chips", role: "group", "aria-label": t("understood") });
    const pick = el("select", { "aria-label": t("scene_aria"), class: "chip-scene" });
    for (const sc of state.scenes) pick.append(el("option", { value: sc, text: sc }));
    pick.value = data.scene;
    pick.addEventListener("change", () => editSession(answer, { scene: pick.value }, t("scene_changed", { scene: pick.value })));
    list.append(el("li", { class: "chip" }, el("span", { class: "chip-label", text: t("chip_scene") + ": " }), pick));
    if (s.topics.length) list.append(chip(t("chip_topics"), s.topics.map((x) => x.name).join(", ")));
    for (const x of s.exclusions) {
      const remove = el("button", { type: "button", class: "chip-x", "aria-label": t("remove_exclusion", { x }), text: "×" });
      const item = chip(t("chip_exclusions"), x, remove);
      item.classList.add("chip-exclusion");
      remove.addEventListener("click", async () => {
        if (await editSession(answer, { remove_exclusions: [x] }, t("exclusion_removed", { x }))) item.remove();
      });
      list.append(item);
    }
    const c = s.constraints || {};
    const wishes = [...(c.other || [])];
    for (const [k, v] of Object.entries(c)) if (k !== "other" && v !== null && v !== undefined && v !== false && !(Array.isArray(v) && !v.length)) wishes.push(v === true ? k : k + " " + v);
    if (wishes.length) list.append(chip(t("chip_constraints"), wishes.join(", ")));
    const mentions = (s.mentioned || []).map((m) => m.title || m.text || m.name).filter(Boolean);
    if (mentions.length) list.append(chip(t("chip_mentions"), mentions.join(", ")));
    answer.querySelector(".understood").replaceChildren(list);
    const meta = answer.querySelector(".meta");
    meta.replaceChildren(el("span", { text: t("parse_source", { source: sourceName(data.parse_source) }) }));
    for (const r of data.refinements || []) meta.append(el("span", { text: t("changes", { text: r }) }));
    if (data.parse_source === "fallback" && state.llm !== "none") {
      answer.querySelector(".messages").append(el("p", { class: "warn", role: "status", text: t("fallback_note") }));
    }
    answer.querySelector(".progress").textContent = t("ranking");
  }

  function renderCards(answer, items) {
    const cards = el("ol", { class: "cards", "aria-label": t("items_label") });
    for (const it of items) {
      const ev = el("ul", { class: "evidence", "aria-label": t("evidence") });
      for (const e of it.evidence || []) if (e.text) ev.append(el("li", { text: e.text }));
      const buttons = el("div", { class: "actions" },
        el("button", { type: "button", class: "like", "aria-label": t("like_aria", { title: it.title }), text: t("like"),
          onclick: (e) => feedback(e.currentTarget, it, "like") }),
        el("button", { type: "button", class: "dislike", "aria-label": t("dislike_aria", { title: it.title }), text: t("dislike"),
          onclick: (e) => feedback(e.currentTarget, it, "dislike") }),
        el("button", { type: "button", class: "more", "aria-label": t("more_like_aria", { title: it.title }), text: t("more_like"),
          onclick: () => send(t("more_like_statement", { n: it.rank })) }));
      cards.append(el("li", { class: "card", "data-item-id": it.item_id, "data-rank": String(it.rank) },
        el("h3", { text: it.rank + ". " + it.title }),
        el("p", { class: "category", text: t("category") + ": " + it.category }),
        el("p", { class: "explanation", text: it.explanation || t("explaining") }), ev, buttons));
    }
    answer.querySelector(".items").replaceChildren(items.length ? cards : el("p", { text: t("no_items") }));
  }

  function renderDone(answer, result) {
    answer.querySelector(".progress").remove();
    for (const n of result.notes || []) answer.querySelector(".messages").append(el("p", { class: "note", text: t("notes", { text: n }) }));
    const rows = Object.entries(result.timings_ms).map(([k, v]) => el("tr", {}, el("th", { scope: "row", text: k }), el("td", { text: v.toFixed(1) })));
    const table = el("table", { class: "timings" }, el("caption", { text: t("timings") }),
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: t("stage") }), el("th", { scope: "col", text: t("ms") }))), el("tbody", {}, ...rows));
    const box = el("details", { class: "details" }, el("summary", { text: t("details") }), table,
      el("p", { text: t("turn_json") }), el("pre", { tabindex: "0", text: JSON.stringify(result, null, 2) }));
    answer.append(box);
  }

  function newAnswer() {
    const answer = el("li", { class: "answer" }, el("div", { class: "understood" }), el("div", { class: "meta" }),
      el("div", { class: "messages" }), el("p", { class: "progress", text: t("thinking") }), el("div", { class: "items" }));
    $("log").append(answer);
    return answer;
  }
  function addUser(text) {
    $("log").append(el("li", { class: "user" }, el("span", { class: "sr-only", text: t("you") + ": " }), el("p", { text })));
  }
  function stamp(turn, event, data, arrived, rank) {
    // cards: how many item cards this turn's answer showed when the event was rendered (0 for "parsed": chips first)
    const cards = $("log").lastElementChild.querySelectorAll(".card").length;
    const row = { turn, event, rank, cards, server_ms: data.server_ms, arrived_ms: arrived, rendered_ms: now(), timings_ms: data.timings_ms || null };
    timings.push(row);
    requestAnimationFrame(() => { row.painted_ms = now(); });
  }

  // -- talking to the API -----------------------------------------------------------------------------------------
  async function send(text) {
    text = (text || "").trim();
    if (!text) return showStatus(t("empty"));
    if (state.busy) return showStatus(t("busy"));
    state.busy = true;
    $("send").disabled = true;
    showStatus("");
    const turn = ++state.turn;
    addUser(text);
    const answer = newAnswer();
    try {
      if (!state.session) await openSession();
      const body = { statement: text, scene: $("scene").value || null };
      const resp = await api("POST", `/v1/sessions/${encodeURIComponent(state.session)}/turns/stream`, body);
      let failed = null;
      await window.sbReadEvents(resp, (name, data, arrived) => {
        if (name === "parsed") renderChips(answer, data);
        else if (name === "ranked") renderCards(answer, data.items);
        else if (name === "explained") {
          const card = answer.querySelector(`.card[data-rank="${data.rank}"] .explanation`);
          if (card) card.textContent = data.explanation;
        } else if (name === "done") {
          renderDone(answer, data);
          remember(data);
          results.push(data);
        } else if (name === "error") failed = data.error;
        stamp(turn, name, data, arrived, data.rank);
      });
      if (failed) throw new Error(t("error", { message: [failed.message, ...(failed.details || [])].join(" — ") }));
    } catch (err) {
      const p = answer.querySelector(".progress");
      if (p) p.remove();
      answer.querySelector(".messages").append(el("p", { class: "error", role: "alert", text: err.message }));
      showStatus(err.message);
      if (!timings.some((e) => e.turn === turn && e.event === "error")) timings.push({ turn, event: "error", cards: 0, rendered_ms: now() });
    } finally {
      state.busy = false;
      $("send").disabled = false;
      answer.scrollIntoView({ block: "nearest" });
    }
  }

  async function editSession(answer, edit, done) {
    try {
      await api("PATCH", `/v1/sessions/${encodeURIComponent(state.session)}`, edit);
      if (edit.scene) $("scene").value = edit.scene;
      answer.querySelector(".messages").append(el("p", { class: "note", role: "status", text: done }));
      return true;
    } catch (err) {
      showStatus(err.message);
      return false;
    }
  }

  async function feedback(button, item, kind) {
    try {
      await api("POST", `/v1/users/${encodeURIComponent(state.user)}/feedback`, { item_id: item.item_id, kind });
      button.setAttribute("aria-pressed", "true");
      showStatus(t(kind === "like" ? "liked" : "disliked", { title: item.title }));
    } catch (err) {
      showStatus(err.message);
    }
  }

  // The full results of this session's turns, for redrawing the cards after a reload (the server keeps the turns).
  function remember(result) {
    const key = "sb.turns." + result.session_id;
    const kept = JSON.parse(store.getItem(key) || "[]").slice(-19);
    kept.push(result);
    try { store.setItem(key, JSON.stringify(kept)); } catch (_) { /* full: the server's log still has the turns */ }
  }

  async function restore() {
    const resp = await api("GET", `/v1/sessions/${encodeURIComponent(state.session)}`);
    const info = await resp.json();
    const kept = JSON.parse(store.getItem("sb.turns." + state.session) || "[]");
    if (info.turns.length) $("log").append(el("li", { class: "restored", text: t("restored") }));
    info.turns.forEach((turn, n) => {
      addUser(turn.statement);
      const result = kept.find((r, i) => i === n + kept.length - info.turns.length && r.statement === turn.statement);
      const answer = newAnswer();
      if (result) {
        renderChips(answer, result);
        renderCards(answer, result.items);
        renderDone(answer, result);
      } else {
        answer.querySelector(".progress").remove();
        answer.querySelector(".items").append(el("p", { class: "reply", text: turn.reply }),
          el("p", { text: t("restored_items", { items: turn.item_ids.join(", ") }) }));
      }
    });
    state.turn = info.turns.length;
  }

  async function start() {
    state.strings = await (await fetch("/web/strings.json")).json();
    const saved = store.getItem("sb.lang");
    state.lang = saved || ((navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en");
    applyLanguage();
    state.user = store.getItem("sb.user") || "web-" + Math.random().toString(36).slice(2, 12);
    store.setItem("sb.user", state.user);
    const health = await (await api("GET", "/healthz")).json();
    state.scenes = health.scenes;
    state.llm = health.llm;
    for (const sc of health.scenes) $("scene").append(el("option", { value: sc, text: sc }));
    state.session = store.getItem("sb.session");
    if (state.session) {
      try {
        await restore();
      } catch (_) {
        state.session = null; // gone (expired, forgotten, another server): the next message opens a new one
        store.removeItem("sb.session");
      }
    }
    document.body.dataset.ready = "true";
  }

  $("ask").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("msg").value;
    if (text.trim() && !state.busy) $("msg").value = "";
    send(text);
  });
  $("msg").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      $("ask").requestSubmit();
    }
  });
  $("lang").addEventListener("click", () => {
    state.lang = state.lang === "zh" ? "en" : "zh";
    store.setItem("sb.lang", state.lang);
    applyLanguage();
  });
  $("new").addEventListener("click", () => {
    if (state.session) store.removeItem("sb.turns." + state.session);
    store.removeItem("sb.session");
    state.session = null; // state.turn goes on: sbTimings rows stay apart
    $("log").replaceChildren();
    showStatus("");
    $("msg").focus();
  });
  start().catch((err) => {
    showStatus(err.message);
    document.body.dataset.ready = "error";
  });
})();
