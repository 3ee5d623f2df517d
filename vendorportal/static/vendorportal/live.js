/* Live updates: what one side changes, the other sees at once.
 *
 * htmx's SSE extension holds the stream (<div id="live" sse-connect=...> in base.html)
 * and reconnects it; the browser's EventSource resends Last-Event-ID, and the server
 * replays what was missed. Each message names the event and the page topics it touches
 * (never the change itself). Regions subscribe with data-live="topic topic"; this script
 * re-fetches the current page through its ordinary, permission-checked view, swaps in the
 * touched regions and marks the rows that changed for a few seconds.
 *
 * Without JavaScript nothing here runs and every page still works (reload to refresh).
 */
(function () {
  "use strict";

  const COALESCE_MS = 80; // one re-fetch for a burst of events
  const MARK_MS = 4000;
  const pending = new Set();
  let timer = null;
  let inFlight = false;

  function regionsFor(topics) {
    const wanted = new Set(topics);
    return Array.from(document.querySelectorAll("[data-live][id]")).filter((el) =>
      el.dataset.live.split(/\s+/).some((topic) => wanted.has(topic))
    );
  }

  // A region with a form the user is filling in is not replaced under their hands: it is
  // refreshed once the focus leaves it.
  function isBusy(region) {
    const active = document.activeElement;
    if (active && region.contains(active) && active.matches("input, textarea, select")) {
      return true;
    }
    return Array.from(region.querySelectorAll("input, textarea")).some(
      (field) =>
        field.type !== "hidden" && field.type !== "checkbox" && field.value !== field.defaultValue
    );
  }

  function rowKey(row, index) {
    if (row.dataset.row) return row.dataset.row;
    if (row.id) return row.id;
    const cells = row.querySelectorAll("td, th");
    return cells.length >= 2 ? cells[0].textContent.trim() + "|" + cells[1].textContent.trim()
      : "#" + index;
  }

  function rowsOf(region) {
    const rows = new Map();
    region.querySelectorAll("[data-row], tbody > tr, li[data-row]").forEach((row, index) => {
      rows.set(rowKey(row, index), row.textContent.replace(/\s+/g, " ").trim());
    });
    return rows;
  }

  function markChanges(region, before) {
    region.querySelectorAll("[data-row], tbody > tr").forEach((row, index) => {
      const text = row.textContent.replace(/\s+/g, " ").trim();
      if (before.get(rowKey(row, index)) !== text) {
        row.classList.add("live-changed");
        setTimeout(() => row.classList.remove("live-changed"), MARK_MS);
      }
    });
  }

  function schedule(ids) {
    ids.forEach((id) => pending.add(id));
    if (!timer && !inFlight) timer = setTimeout(refresh, COALESCE_MS);
  }

  async function refresh() {
    timer = null;
    const ids = Array.from(pending).filter((id) => document.getElementById(id));
    pending.clear();
    const ready = [];
    for (const id of ids) {
      const region = document.getElementById(id);
      if (isBusy(region)) {
        region.addEventListener("focusout", () => setTimeout(() => schedule([id]), 0), {
          once: true,
        });
      } else {
        ready.push(id);
      }
    }
    if (!ready.length) return;
    inFlight = true;
    try {
      const response = await fetch(window.location.href, {
        credentials: "same-origin",
        headers: { "X-Live-Refresh": "1" },
      });
      if (!response.ok) return; // e.g. the order is no longer visible: keep what is shown
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      for (const id of ready) {
        const current = document.getElementById(id);
        const fresh = page.getElementById(id);
        if (!current || !fresh) continue;
        const before = rowsOf(current);
        const adopted = document.importNode(fresh, true);
        current.replaceWith(adopted);
        if (window.htmx) window.htmx.process(adopted);
        markChanges(adopted, before);
      }
      document.body.dispatchEvent(new CustomEvent("live:refreshed", { detail: { ids: ready } }));
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
