/* Live updates: what one side changes, the other sees at once.
 *
 * htmx's SSE extension holds the stream (<div id="live" sse-connect=...> in base.html)
 * and reconnects it; the browser's EventSource resends Last-Event-ID, and the server
 * replays what was missed. Each message names the event and the page topics it touches,
 * never the change itself. A page's content subscribes with data-live="topic topic"; when
 * a topic is touched this script re-fetches the page through its ordinary,
 * permission-checked view and patches in only the fragments that differ (a row, the
 * order header, a counter, the timeline), marking changed rows for a few seconds. A
 * fragment holding a field the user is typing in is left alone until they leave it.
 *
 * Without JavaScript nothing here runs and every page still works (reload to refresh).
 */
(function () {
  "use strict";

  const COALESCE_MS = 80; // one re-fetch for a burst of events
  const MARK_MS = 4000;
  // Replaced whole (and marked) rather than patched inside.
  const ATOMIC = "tr, li, [data-row], .card, .badge, h1, dl";
  const MARKED = "tr, li, [data-row], .card";
  const pending = new Set();
  let timer = null;
  let inFlight = false;

  function regionsFor(topics) {
    const wanted = new Set(topics);
    return Array.from(document.querySelectorAll("[data-live][id]")).filter((el) =>
      el.dataset.live.split(/\s+/).some((topic) => wanted.has(topic))
    );
  }

  function isEditing(element) {
    const active = document.activeElement;
    if (active && element.contains(active) && active.matches("input, textarea, select")) {
      return true;
    }
    return Array.from(element.querySelectorAll("input, textarea")).some(
      (field) =>
        !["hidden", "checkbox", "radio", "submit"].includes(field.type) &&
        field.value !== field.defaultValue
    );
  }

  function mark(element) {
    const targets = element.matches(MARKED) ? [element] : element.querySelectorAll(MARKED);
    targets.forEach((target) => {
      target.classList.add("live-changed");
      setTimeout(() => target.classList.remove("live-changed"), MARK_MS);
    });
  }

  // Make `current` look like `fresh`, replacing as little as possible. Returns the ids of
  // regions that could not be patched because the user is editing in them.
  function patch(current, fresh, deferred) {
    if (current.isEqualNode(fresh)) return;
    const sameShape =
      !current.matches(ATOMIC) &&
      current.tagName === fresh.tagName &&
      current.children.length === fresh.children.length &&
      current.children.length > 0 &&
      Array.from(current.attributes).every(
        (attr) => fresh.getAttribute(attr.name) === attr.value
      ) &&
      current.attributes.length === fresh.attributes.length;
    if (sameShape) {
      // Same element: patch its children (text between children is compared as a whole).
      const ownText = (el) =>
        Array.from(el.childNodes)
          .filter((n) => n.nodeType === Node.TEXT_NODE)
          .map((n) => n.textContent.trim())
          .join("|");
      if (ownText(current) === ownText(fresh)) {
        const olds = Array.from(current.children);
        const news = Array.from(fresh.children);
        olds.forEach((child, index) => patch(child, news[index], deferred));
        return;
      }
    }
    if (isEditing(current)) {
      deferred.add(current);
      return;
    }
    const adopted = document.importNode(fresh, true);
    const isList = current.matches("tbody, ul, ol") && current.tagName === fresh.tagName;
    const before = isList ? itemsOf(current) : null;
    current.replaceWith(adopted);
    if (window.htmx) window.htmx.process(adopted);
    if (isList) {
      // Rows came or went: mark only the rows that are new or different.
      Array.from(adopted.children).forEach((row) => {
        if (before.get(keyOf(row)) !== textOf(row)) mark(row);
      });
    } else {
      mark(adopted);
    }
  }

  const textOf = (el) => el.textContent.replace(/\s+/g, " ").trim();

  function keyOf(row) {
    if (row.dataset.row) return row.dataset.row;
    if (row.id) return row.id;
    const cells = row.querySelectorAll("td, th");
    // Rows without a key are known by their first two cells, list items by their text.
    return cells.length >= 2 ? textOf(cells[0]) + "|" + textOf(cells[1]) : textOf(row);
  }

  function itemsOf(list) {
    const items = new Map();
    Array.from(list.children).forEach((row) => items.set(keyOf(row), textOf(row)));
    return items;
  }

  function schedule(ids) {
    ids.forEach((id) => pending.add(id));
    if (!timer && !inFlight) timer = setTimeout(refresh, COALESCE_MS);
  }

  async function refresh() {
    timer = null;
    const ids = Array.from(pending).filter((id) => document.getElementById(id));
    pending.clear();
    if (!ids.length) return;
    inFlight = true;
    try {
      const response = await fetch(window.location.href, {
        credentials: "same-origin",
        headers: { "X-Live-Refresh": "1" },
      });
      if (!response.ok) return; // e.g. the order is no longer visible: keep what is shown
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      for (const id of ids) {
        const current = document.getElementById(id);
        const fresh = page.getElementById(id);
        if (!current || !fresh) continue;
        const deferred = new Set();
        patch(current, fresh, deferred);
        deferred.forEach((element) =>
          element.addEventListener("focusout", () => setTimeout(() => schedule([id]), 0), {
            once: true,
          })
        );
      }
      document.body.dispatchEvent(new CustomEvent("live:refreshed", { detail: { ids } }));
    } catch (error) {
      // A network hiccup: the stream reconnects and replays; the next event refreshes.
    } finally {
      inFlight = false;
      if (pending.size && !timer) timer = setTimeout(refresh, COALESCE_MS);
    }
  }

  document.addEventListener("htmx:sseMessage", (event) => {
    let message;
    try {
      message = JSON.parse(event.detail.data);
    } catch (error) {
      return;
    }
    const regions = regionsFor(message.topics || []);
    if (regions.length) schedule(regions.map((region) => region.id));
  });

  function showState(up) {
    const badge = document.getElementById("live-status");
    if (!badge) return;
    badge.hidden = false;
    badge.classList.toggle("is-down", !up);
    badge.textContent = up ? "Live" : "Reconnecting…";
    badge.title = up
      ? "Changes made by others appear on this page as they happen."
      : "The live connection was lost; reconnecting.";
  }
  document.addEventListener("htmx:sseOpen", () => showState(true));
  document.addEventListener("htmx:sseError", () => showState(false));
})();
