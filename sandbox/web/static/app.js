// The demo page: draws the snapshot the server pushes (server-sent events) and acts as the
// people in it with small POST calls. Plain DOM, no build step; text is always set with
// textContent, formatting comes from Telegram's message entities.
"use strict";

let state = null;
let staffTopic = 0; // 0 = General
let staffReplyTo = 0;
const toastsSeen = new Map();

// ------------------------------------------------------------------ helpers
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

async function post(path, body) {
  const options = { method: "POST" };
  if (body instanceof FormData) options.body = body;
  else {
    options.body = JSON.stringify(body || {});
    options.headers = { "Content-Type": "application/json" };
  }
  const response = await fetch(path, options);
  if (!response.ok) throw new Error(await response.text());
  return response.json();
}

// ------------------------------------------------------------------ Telegram formatting
const SAFE_URL = /^(https?:\/\/|tg:\/\/)/i;

function entityElement(entity, text) {
  switch (entity.type) {
    case "bold": return el("b");
    case "italic": return el("i");
    case "underline": return el("u");
    case "strikethrough": return el("s");
    case "code": return el("code");
    case "pre": return el("pre");
    case "spoiler": {
      const span = el("span", { class: "spoiler", tabindex: "0", title: "Show" });
      span.addEventListener("click", () => span.classList.add("shown"));
      return span;
    }
    case "blockquote":
    case "expandable_blockquote": return el("blockquote");
    case "text_link":
      return SAFE_URL.test(entity.url) ? el("a", { href: entity.url, target: "_blank", rel: "noopener" }) : el("span");
    case "url":
      return SAFE_URL.test(text) ? el("a", { href: text, target: "_blank", rel: "noopener" }) : el("span");
    default: return el("span", { class: entity.type });
  }
}

// Entities use UTF-16 offsets, as JavaScript strings do. Entities made from HTML nest.
function renderText(text, entities) {
  const sorted = [...(entities || [])].sort((a, b) => a.offset - b.offset || b.length - a.length);
  function build(start, end, list, parent) {
    let position = start;
    let index = 0;
    while (index < list.length) {
      const entity = list[index];
      const entityEnd = Math.min(entity.offset + entity.length, end);
      if (entity.offset > position) parent.append(text.slice(position, entity.offset));
      const inner = [];
      index += 1;
      while (index < list.length && list[index].offset < entityEnd) inner.push(list[index++]);
      const node = entityElement(entity, text.slice(entity.offset, entityEnd));
      build(Math.max(entity.offset, position), entityEnd, inner, node);
      parent.append(node);
      position = Math.max(position, entityEnd);
    }
    if (position < end) parent.append(text.slice(position, end));
  }
  const container = el("div", { class: "text", dir: "auto" });
  build(0, text.length, sorted.filter((e) => e.length > 0), container);
  return container;
}

// ------------------------------------------------------------------ messages
function renderMedia(media) {
  if (media.kind === "photo" || media.kind === "sticker") {
    return el("img", { src: media.url, alt: "Photo", class: "photo", loading: "lazy" });
  }
  if (media.kind === "voice" || media.kind === "audio") {
    return el("div", { class: "voice" }, "🎤 Voice message ", el("audio", { controls: "", src: media.url, preload: "none" }));
  }
  const link = el("a", { href: media.url, download: media.name, class: "document" }, "📄 ", media.name);
  if (/\.png$/i.test(media.name)) {
    return el("div", {}, link, el("img", { src: media.url, alt: media.name, class: "photo" }));
  }
  return link;
}

function renderLocation(location) {
  const where = `${location.latitude.toFixed(5)}, ${location.longitude.toFixed(5)}`;
  const url = `https://www.openstreetmap.org/?mlat=${location.latitude}&mlon=${location.longitude}#map=17/${location.latitude}/${location.longitude}`;
  return el("a", { class: "location", href: url, target: "_blank", rel: "noopener" },
    "📍 ", location.title ? `${location.title} · ` : "", where);
}

function renderMessage(message, actor) {
  if (message.service) return el("p", { class: "service" }, message.service);
  const bubble = el("article", {
    class: `msg ${message.outgoing ? "bot" : "person"}`,
    "data-message-id": message.id,
  });
  if (actor.staff && !message.outgoing) bubble.append(el("p", { class: "sender" }, message.from));
  if (actor.staff && message.outgoing) bubble.append(el("p", { class: "sender" }, state.bot.first_name));
  if (message.reply_to) bubble.append(el("p", { class: "quote", dir: "auto" }, message.reply_to));
  if (message.media) bubble.append(renderMedia(message.media));
  if (message.location) bubble.append(renderLocation(message.location));
  if (message.text) bubble.append(renderText(message.text, message.entities));
  if (message.edited) bubble.append(el("p", { class: "meta" }, "edited"));
  if (message.inline_keyboard.length) {
    const keyboard = el("div", { class: "inline-keyboard" });
    for (const row of message.inline_keyboard) {
      const line = el("div", { class: "row" });
      for (const button of row) line.append(inlineButton(button, message, actor));
      keyboard.append(line);
    }
    bubble.append(keyboard);
  }
  if (actor.staff) {
    bubble.append(el("button", {
      type: "button", class: "reply-button", "aria-label": "Reply to this message",
      onclick: () => { staffReplyTo = message.id; showReplyTo(message); },
    }, "↩"));
  }
  return bubble;
}

function inlineButton(button, message, actor) {
  if (button.url) return el("a", { class: "button", href: button.url, target: "_blank", rel: "noopener" }, button.text, " ↗");
  if (button.callback_data === undefined) return el("button", { type: "button", disabled: "" }, button.text);
  return el("button", {
    type: "button",
    onclick: () => post("/api/press", {
      user_id: actor.id, chat_id: message.chat_id, message_id: message.id, data: button.callback_data,
    }),
  }, button.text);
}

function drawChat(container, messages, actor) {
  const atBottom = container.scrollHeight - container.scrollTop - container.clientHeight < 40;
  container.replaceChildren(...messages.map((m) => renderMessage(m, actor)));
  if (atBottom || !container.dataset.drawn) container.scrollTop = container.scrollHeight;
  container.dataset.drawn = "1";
}

// ------------------------------------------------------------------ composers
function composer(form, actor) {
  const input = el("input", { name: "text", dir: "auto", autocomplete: "off", placeholder: "Message", "aria-label": `Message from ${actor.name}` });
  const menu = el("button", { type: "button", class: "menu", "aria-label": "Commands", title: "Commands" }, "☰");
  const commands = el("ul", { class: "commands", hidden: "" });
  menu.addEventListener("click", () => { commands.hidden = !commands.hidden; });
  const file = el("input", { type: "file", name: "file", class: "file", "aria-label": `Send a photo or file as ${actor.name}` });
  file.addEventListener("change", async () => {
    if (!file.files.length) return;
    const data = new FormData();
    data.append("user_id", actor.id);
    data.append("file", file.files[0]);
    if (input.value.trim()) { data.append("caption", input.value); input.value = ""; }
    addWhere(data, actor);
    file.value = "";
    await post("/api/upload", data);
  });
  const location = el("button", {
    type: "button", "aria-label": "Send a location", title: "Send a location",
    onclick: () => sendLocation(actor),
  }, "📍");
  form.replaceChildren(menu, input, el("label", { class: "attach", title: "Photo or file" }, "📎", file), location,
    el("button", { type: "submit", "aria-label": "Send", title: "Send" }, "➤"), commands);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    await sendText(actor, text);
  });
  form.commands = commands;
  form.input = input;
}

function addWhere(body, actor) {
  if (!actor.staff) return body;
  const values = { thread_id: staffTopic, reply_to: staffReplyTo };
  staffReplyTo = 0;
  showReplyTo(null);
  if (body instanceof FormData) for (const [k, v] of Object.entries(values)) body.append(k, v);
  else Object.assign(body, values);
  return body;
}

function sendText(actor, text) {
  return post("/api/send", addWhere({ user_id: actor.id, text }, actor));
}

function sendLocation(actor) {
  // Stovner senter, so no real position is ever asked for.
  return post("/api/location", addWhere({ user_id: actor.id, latitude: 59.9617, longitude: 10.9232 }, actor));
}

function drawCommands(form, commands, actor) {
  form.commands.replaceChildren(...commands.map((c) => el("li", {},
    el("button", { type: "button", onclick: () => { form.commands.hidden = true; sendText(actor, `/${c.command}`); } },
      `/${c.command}`, el("span", { dir: "auto" }, ` ${c.description}`)))));
}

function replyKeyboard(messages) {
  for (let i = messages.length - 1; i >= 0; i -= 1) {
    if (messages[i].outgoing && messages[i].reply_keyboard) return messages[i].reply_keyboard;
  }
  return [];
}

// ------------------------------------------------------------------ residents
function phoneFor(resident) {
  let phone = document.querySelector(`.phone[data-user-id="${resident.id}"]`);
  if (phone) return phone;
  const actor = { id: resident.id, name: resident.name };
  phone = el("section", {
    class: "phone", "data-user-id": resident.id, "data-resident": resident.name, dir: resident.dir,
    lang: resident.language || undefined, "aria-label": `${resident.name}'s phone`,
  },
  el("header", {}, el("strong", {}, resident.name), " ", el("span", { class: "lang", dir: "ltr" }, `Telegram in ${resident.language || "?"}`)),
  el("div", { class: "chat", role: "log", "aria-live": "polite" }),
  el("div", { class: "reply-keyboard" }),
  el("p", { class: "toast", role: "status" }),
  el("form", { class: "composer" }));
  composer(phone.querySelector("form"), actor);
  phone.actor = actor;
  document.getElementById("phones").append(phone);
  return phone;
}

function drawResident(resident) {
  const phone = phoneFor(resident);
  drawChat(phone.querySelector(".chat"), resident.messages, phone.actor);
  const keys = phone.querySelector(".reply-keyboard");
  keys.replaceChildren(...replyKeyboard(resident.messages).map((row) => el("div", { class: "row" },
    ...row.map((button) => {
      const label = typeof button === "string" ? button : button.text;
      return el("button", {
        type: "button",
        onclick: () => (button.request_location ? sendLocation(phone.actor) : sendText(phone.actor, label)),
      }, label);
    }))));
  drawCommands(phone.querySelector("form"), resident.commands, phone.actor);
  const mine = state.toasts.filter((t) => t.user_id === resident.id);
  if (mine.length > (toastsSeen.get(resident.id) || 0)) {
    const toast = phone.querySelector(".toast");
    toast.textContent = mine[mine.length - 1].text;
    toast.classList.add("visible");
    setTimeout(() => toast.classList.remove("visible"), 4000);
  }
  toastsSeen.set(resident.id, mine.length);
}

// ------------------------------------------------------------------ staff
function showReplyTo(message) {
  const note = document.getElementById("reply-to");
  note.hidden = !message;
  note.textContent = message ? `Replying to: ${(message.text || "…").slice(0, 60)}` : "";
}

function drawStaff() {
  const chat = state.staff_chat;
  const actor = { id: state.staff.id, name: state.staff.name, staff: true };
  const topics = [{ id: 0, name: "General", closed: false }, ...chat.topics];
  if (!topics.some((t) => t.id === staffTopic)) staffTopic = 0;
  const counts = new Map();
  for (const m of chat.messages) counts.set(m.thread_id || 0, (counts.get(m.thread_id || 0) || 0) + 1);
  document.getElementById("topics").replaceChildren(...topics.map((topic) => el("li", {},
    el("button", {
      type: "button", "aria-current": topic.id === staffTopic ? "true" : undefined,
      onclick: () => { staffTopic = topic.id; staffReplyTo = 0; showReplyTo(null); drawStaff(); },
    }, topic.closed ? "🔒 " : "# ", el("span", { dir: "auto" }, topic.name), ` (${counts.get(topic.id) || 0})`))));
  const current = topics.find((t) => t.id === staffTopic);
  document.getElementById("topic-title").textContent = `${current.name} – writing as ${actor.name} (staff)`;
  const messages = chat.messages.filter((m) => (m.thread_id || 0) === staffTopic);
  drawChat(document.getElementById("staff-chat"), messages, actor);
  const form = document.getElementById("staff-composer");
  if (!form.input) composer(form, actor);
  drawCommands(form, chat.commands, actor);
}

// ------------------------------------------------------------------ the whole page
function draw(snapshot) {
  state = snapshot;
  document.getElementById("now").textContent = state.now;
  document.getElementById("office").textContent = state.office_open ? "Close the office" : "Open the office";
  for (const resident of state.residents) drawResident(resident);
  drawStaff();
}

function connect() {
  const events = new EventSource("/api/events");
  events.onmessage = (event) => draw(JSON.parse(event.data));
  events.onerror = () => { document.getElementById("note").textContent = "Reconnecting…"; };
  events.onopen = () => { document.getElementById("note").textContent = ""; };
}

document.addEventListener("DOMContentLoaded", async () => {
  draw(await (await fetch("/api/state")).json());
  connect();
  for (const button of document.querySelectorAll("[data-time]")) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const result = await post(`/api/time/${button.dataset.time}`);
        document.getElementById("note").textContent = result.note;
      } finally {
        button.disabled = false;
      }
    });
  }
  document.getElementById("add-resident").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const name = form.elements.namedItem("name");
    const language = form.elements.namedItem("language");
    await post("/api/residents", { name: name.value, language: language.value });
    name.value = "";
  });
});
