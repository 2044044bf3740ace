// The desk board, live: refetch the board when the desk changes; keep "time left" current.
"use strict";

(function () {
  const LIVE = "board-live";
  const FRAGMENT = "/board/fragment";
  const EVENTS = "/board/events";
  const MINUTE = 60 * 1000;
  const RECONNECT = 10 * 1000;

  // The same words as BoardWords.left in bot/web/board.py.
  const WORDS = {
    id: {
      units: [["hari", "hari"], ["jam", "jam"], ["menit", "menit"]],
      left: (span) => span + " lagi",
      late: (span) => "terlambat " + span,
    },
    en: {
      units: [["day", "days"], ["hour", "hours"], ["minute", "minutes"]],
      left: (span) => span + " left",
      late: (span) => span + " late",
    },
  };
  const words = WORDS[document.documentElement.lang] || WORDS.id;

  // The server's clock may differ from this browser's: measure against the page's data-now.
  let offset = 0;

  function measureOffset() {
    const live = document.getElementById(LIVE);
    const serverNow = live ? Date.parse(live.dataset.now || "") : NaN;
    offset = Number.isNaN(serverNow) ? 0 : serverNow - Date.now();
  }

  function duration(milliseconds) {
    let minutes = Math.max(1, Math.round(Math.abs(milliseconds) / MINUTE));
    const days = Math.floor(minutes / (24 * 60));
    minutes -= days * 24 * 60;
    const hours = Math.floor(minutes / 60);
    minutes -= hours * 60;
    const parts = [];
    [days, hours, minutes].forEach((n, i) => {
      if (n) parts.push(n + " " + words.units[i][n === 1 ? 0 : 1]);
    });
    return parts.slice(0, 2).join(" ");
  }

  // Re-render every card's relative label and colour from its data-due and data-near.
  function tick() {
    const now = Date.now() + offset;
    document.querySelectorAll(".story[data-due]").forEach((card) => {
      const due = Date.parse(card.dataset.due);
      const near = Date.parse(card.dataset.near || card.dataset.due);
      if (Number.isNaN(due)) return;
      const late = now > due;
      const status = late ? "late" : now >= near ? "near" : "ok";
      ["late", "near", "ok"].forEach((name) => card.classList.toggle(name, name === status));
      const label = card.querySelector(".left");
      if (label) {
        const span = duration(due - now);
        label.textContent = late ? words.late(span) : words.left(span);
      }
    });
  }

  // At most one fetch in flight; events that arrive meanwhile cause one more fetch after it.
  let inFlight = false;
  let again = false;

  function refresh() {
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    fetch(FRAGMENT, { credentials: "same-origin", cache: "no-store" })
      .then((response) => {
        if (response.redirected && new URL(response.url).pathname === "/login") {
          window.location.assign("/login");
          return null;
        }
        if (!response.ok) throw new Error("board fragment: HTTP " + response.status);
        return response.text();
      })
      .then((html) => {
        if (html === null) return;
        const template = document.createElement("template");
        template.innerHTML = html.trim();
        const fresh = template.content.getElementById(LIVE);
        const live = document.getElementById(LIVE);
        if (fresh && live) {
          live.replaceWith(fresh);
          measureOffset();
          tick();
        }
      })
      .catch(() => {
        /* the next event or reconnection tries again */
      })
      .finally(() => {
        inFlight = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  }

  function listen() {
    const source = new EventSource(EVENTS);
    let opened = false;
    source.addEventListener("open", () => {
      if (opened) refresh(); // reconnected: changes may have been missed meanwhile
      opened = true;
    });
    source.addEventListener("message", refresh);
    source.addEventListener("error", () => {
      // The browser retries by itself unless the stream was refused (a login page, say).
      if (source.readyState === EventSource.CLOSED) {
        window.setTimeout(() => {
          refresh();
          listen();
        }, RECONNECT);
      }
    });
  }

  measureOffset();
  tick();
  window.setInterval(tick, MINUTE);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") tick();
  });
  listen();
})();
