// The playground page: send messages and photos, press card buttons, and show what arrives
// live (server-sent events). No framework, no build step.
(function () {
  "use strict";
  const root = document.getElementById("play");
  if (!root) return;
  const person = root.dataset.person;
  const csrf = root.dataset.csrf || "";
  const words = JSON.parse(root.dataset.words || "{}");
  const toast = document.querySelector(".toast");
  let toastTimer = null;

  function room(name) {
    return root.querySelector('.room[data-room="' + name + '"]');
  }

  function notify(text) {
    if (!toast) return;
    toast.textContent = text;
    toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { toast.hidden = true; }, 5000);
  }

  function scrollDown(log) {
    log.scrollTop = log.scrollHeight;
  }

  // -- tabs ----------------------------------------------------------------------------------
  const tabs = root.querySelectorAll('[role="tab"]');
  function show(name) {
    tabs.forEach(function (tab) {
      const selected = tab.dataset.room === name;
      tab.setAttribute("aria-selected", selected ? "true" : "false");
      if (selected) {
        const badge = tab.querySelector(".badge");
        badge.hidden = true;
        badge.textContent = "";
      }
    });
    root.querySelectorAll(".room").forEach(function (section) {
      section.hidden = section.dataset.room !== name;
      if (!section.hidden) scrollDown(section.querySelector(".log"));
    });
  }
  tabs.forEach(function (tab) {
    tab.addEventListener("click", function () { show(tab.dataset.room); });
  });
  function unread(name) {
    const tab = root.querySelector('[role="tab"][data-room="' + name + '"]');
    if (!tab || tab.getAttribute("aria-selected") === "true") return;
    const badge = tab.querySelector(".badge");
    badge.textContent = String((parseInt(badge.textContent, 10) || 0) + 1);
    badge.hidden = false;
  }

  // -- one line of the chat (the same markup as play_entry.html) -----------------------------
  function line(entry) {
    const box = document.createElement("div");
    box.className = "msg" + (entry.type === "card" ? " card" : "") +
      (entry.mine_of === person ? " mine" : "");
    box.id = "m-" + entry.id;
    box.dataset.id = entry.id;
    box.dataset.ts = String(entry.ts || 0);
    const who = document.createElement("div");
    who.className = "who";
    who.textContent = entry.who;
    if (entry.time) {
      const when = document.createElement("span");
      when.className = "when";
      when.textContent = entry.time;
      who.appendChild(when);
    }
    box.appendChild(who);
    if (entry.reply_to) {
      const quote = document.createElement("div");
      quote.className = "quote";
      quote.dataset.quote = entry.reply_to;
      quote.hidden = true;
      box.appendChild(quote);
    }
    const body = document.createElement("div");
    body.className = "body";
    body.innerHTML = entry.html; // already made safe by the server (escaped, allowed tags only)
    box.appendChild(body);
    if (entry.photos && entry.photos.length) {
      const photos = document.createElement("div");
      photos.className = "photos";
      entry.photos.forEach(function (src) {
        const img = document.createElement("img");
        img.src = src;
        img.alt = words.photo || "photo";
        img.loading = "lazy";
        photos.appendChild(img);
      });
      box.appendChild(photos);
    }
    if (entry.buttons && entry.buttons.length) {
      const buttons = document.createElement("div");
      buttons.className = "buttons";
      entry.buttons.forEach(function (button) {
        const press = document.createElement("button");
        press.type = "button";
        press.dataset.press = button.data;
        press.textContent = button.label;
        buttons.appendChild(press);
      });
      box.appendChild(buttons);
    }
    const reply = document.createElement("button");
    reply.type = "button";
    reply.className = "reply";
    reply.dataset.reply = entry.id;
    reply.textContent = words.reply || "Reply";
    box.appendChild(reply);
    return box;
  }

  // A reply shows the start of the message it answers, when that message is on the page.
  function quote(box) {
    box.querySelectorAll(".quote").forEach(function (line) {
      const original = document.getElementById("m-" + line.dataset.quote);
      const body = original && original.querySelector(".body");
      const text = body ? body.textContent.trim() : "";
      line.textContent = text ? "↩︎ " + (text.length > 80 ? text.slice(0, 80) + "…" : text) : "";
      line.hidden = !text;
    });
  }

  function place(entry) {
    const section = room(entry.room);
    if (!section) return;
    const log = section.querySelector(".log");
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
    const fresh = line(entry);
    const old = document.getElementById("m-" + entry.id);
    if (old) {
      fresh.dataset.ts = old.dataset.ts; // a card redrawn in place keeps its place
      old.replaceWith(fresh);
    } else {
      // In the order things happened: a reply may reach the page before the message it
      // answers (both leave the server at once).
      const later = Array.prototype.find.call(log.children, function (other) {
        return parseFloat(other.dataset.ts || "0") > (entry.ts || 0);
      });
      log.insertBefore(fresh, later || null);
      unread(entry.room);
    }
    quote(fresh);
    if (atBottom || entry.mine_of === person) scrollDown(log);
  }

  // -- live events ---------------------------------------------------------------------------
  let lost = false;
  const events = new EventSource("/play/" + encodeURIComponent(person) + "/events");
  events.onmessage = function (message) {
    const event = JSON.parse(message.data);
    if (event.type === "notice") notify(event.text);
    else if (event.type === "reload") window.location.reload();
    else place(event);
  };
  events.onerror = function () {
    if (!lost) notify(words.offline || "…");
    lost = true;
  };
  events.onopen = function () {
    if (lost) window.location.reload(); // catch up on what was said meanwhile
  };

  // -- pressing card buttons, replying -------------------------------------------------------
  root.addEventListener("click", function (click) {
    const target = click.target;
    if (!(target instanceof HTMLElement)) return;
    if (target.dataset.press) {
      const card = target.closest(".msg");
      const section = target.closest(".room");
      target.disabled = true;
      fetch("/play/" + encodeURIComponent(person) + "/press", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Warta-CSRF": csrf },
        body: JSON.stringify({
          data: target.dataset.press,
          card: card ? card.dataset.id : "",
          chat: section ? section.dataset.room : "group",
        }),
      }).then(function (answer) {
        if (!answer.ok) notify(words.failed);
      }).catch(function () { notify(words.failed); })
        .finally(function () { target.disabled = false; });
    } else if (target.dataset.reply) {
      const form = target.closest(".room").querySelector(".composer");
      form.dataset.replyTo = target.dataset.reply;
      form.querySelector(".replying").hidden = false;
      form.querySelector("textarea").focus();
    } else if (target.hasAttribute("data-cancel-reply")) {
      const form = target.closest(".composer");
      delete form.dataset.replyTo;
      form.querySelector(".replying").hidden = true;
    }
  });

  // -- sending -------------------------------------------------------------------------------
  root.querySelectorAll(".composer").forEach(function (form) {
    const text = form.querySelector("textarea");
    const files = form.querySelector('input[type="file"]');
    const chosen = form.querySelector(".files");
    files.addEventListener("change", function () {
      chosen.hidden = files.files.length === 0;
      chosen.textContent = files.files.length + " " + (words.files || "files");
    });
    text.addEventListener("keydown", function (key) {
      if (key.key === "Enter" && (key.ctrlKey || key.metaKey)) {
        key.preventDefault();
        form.requestSubmit();
      }
    });
    form.addEventListener("submit", function (submit) {
      submit.preventDefault();
      if (!text.value.trim() && files.files.length === 0) return;
      const body = new FormData();
      body.append("chat", form.dataset.room);
      body.append("text", text.value);
      body.append("csrf", csrf);
      if (form.dataset.replyTo) body.append("reply_to", form.dataset.replyTo);
      Array.prototype.forEach.call(files.files, function (file) { body.append("files", file); });
      const send = form.querySelector(".send");
      send.disabled = true;
      fetch("/play/" + encodeURIComponent(person) + "/send", { method: "POST", body: body })
        .then(function (answer) {
          if (!answer.ok) throw new Error(String(answer.status));
          text.value = "";
          files.value = "";
          chosen.hidden = true;
          delete form.dataset.replyTo;
          form.querySelector(".replying").hidden = true;
        })
        .catch(function () { notify(words.failed); })
        .finally(function () { send.disabled = false; });
    });
  });

  root.querySelectorAll(".msg").forEach(quote);
  show("group");
})();
