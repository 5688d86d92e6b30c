// Covey admin panel: tree behaviour, drag and drop, the "Add members" dialog, bulk selection.
// Plain DOM APIs only; every change is a POST carrying the page's CSRF token.
(function () {
  "use strict";

  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function toast(text, kind) {
    const box = document.getElementById("toast");
    if (!box) return;
    box.textContent = text;
    box.className = "toast" + (kind === "error" ? " error" : "");
    box.hidden = false;
    clearTimeout(box._timer);
    box._timer = setTimeout(() => { box.hidden = true; }, kind === "error" ? 7000 : 3500);
  }

  async function post(url, fields) {
    const body = new URLSearchParams();
    for (const [name, value] of Object.entries(fields)) {
      for (const v of Array.isArray(value) ? value : [value]) body.append(name, v);
    }
    const response = await fetch(url, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf(), "X-Requested-With": "fetch", "Accept": "application/json" },
    });
    let data = {};
    try { data = await response.json(); } catch (_) { /* not JSON: reported below */ }
    if (!response.ok) {
      throw new Error((data.error && data.error.message) || `Request failed (${response.status})`);
    }
    return data;
  }

  function reloadWith(message) {
    sessionStorage.setItem("covey-toast", message);
    window.location.reload();
  }

  // --- the navigation's menu button (narrow screens) and the row menus ---------------------------
  const menuButton = document.querySelector(".menu-button");
  function setNavOpen(open) {
    if (!menuButton) return;
    menuButton.closest(".shell").classList.toggle("nav-open", open);
    menuButton.setAttribute("aria-expanded", String(open));
  }
  if (menuButton) {
    menuButton.addEventListener("click", () => setNavOpen(menuButton.getAttribute("aria-expanded") !== "true"));
  }

  // An open menu closes on Escape (focus back on its button), on a click outside it, and when another opens.
  const openMenus = () => Array.from(document.querySelectorAll("details.menu[open]"));
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    const menus = openMenus();
    if (menus.length) {
      menus.forEach((menu) => { menu.open = false; });
      const summary = menus[menus.length - 1].querySelector("summary");
      if (summary) summary.focus();
    } else if (menuButton && menuButton.getAttribute("aria-expanded") === "true") {
      setNavOpen(false);
      menuButton.focus();
    }
  });
  document.addEventListener("click", (event) => {
    openMenus().forEach((menu) => { if (!menu.contains(event.target)) menu.open = false; });
  });
  document.addEventListener("toggle", (event) => {
    const opened = event.target;
    if (!(opened instanceof HTMLDetailsElement) || !opened.classList.contains("menu") || !opened.open) return;
    openMenus().forEach((menu) => { if (menu !== opened && !menu.contains(opened)) menu.open = false; });
  }, true);

  // A table wider than its box scrolls inside it; keyboard users reach that scroll by focusing the box.
  function markScrollers() {
    document.querySelectorAll(".table, .scroll").forEach((box) => {
      if (box.scrollWidth > box.clientWidth + 1) box.setAttribute("tabindex", "0");
      else if (box.getAttribute("tabindex") === "0") box.removeAttribute("tabindex");
    });
  }
  markScrollers();
  window.addEventListener("resize", markScrollers);

  // --- tree: expand, collapse, search -----------------------------------------------------------
  function setCollapsed(node, collapsed) {
    node.classList.toggle("collapsed", collapsed);
    const button = node.querySelector(":scope > .row > .toggle");
    if (button) {
      button.setAttribute("aria-expanded", String(!collapsed));
      button.setAttribute("aria-label", (collapsed ? "Expand " : "Collapse ") + node.querySelector(":scope > .row").dataset.groupName);
    }
  }

  document.addEventListener("click", (event) => {
    const toggle = event.target.closest(".toggle");
    if (toggle) {
      const node = toggle.closest(".node");
      setCollapsed(node, !node.classList.contains("collapsed"));
      return;
    }
    const all = event.target.closest("[data-tree]");
    if (all) {
      document.querySelectorAll(".tree-root .node").forEach((n) => setCollapsed(n, all.dataset.tree === "collapse" && Boolean(n.querySelector(".tree"))));
    }
  });

  const search = document.getElementById("tree-search");
  if (search) {
    search.addEventListener("input", () => {
      const q = search.value.trim().toLowerCase();
      const nodes = Array.from(document.querySelectorAll(".tree-root .node"));
      nodes.forEach((n) => n.classList.toggle("hidden", Boolean(q)));
      if (!q) return;
      nodes.filter((n) => n.dataset.name.includes(q)).forEach((n) => {
        // A match shows itself, its ancestors (expanded) and its subtree.
        n.querySelectorAll(".node").forEach((d) => d.classList.remove("hidden"));
        for (let a = n; a; a = a.parentElement.closest(".node")) {
          a.classList.remove("hidden");
          if (a !== n) setCollapsed(a, false);
        }
      });
    });
  }

  // --- drag and drop ----------------------------------------------------------------------------
  let dragging = null; // {kind: "group"|"member"|"person", id, name, element}
  const adding = (e) => e.altKey || e.ctrlKey || e.shiftKey || e.metaKey;

  document.addEventListener("dragstart", (event) => {
    const member = event.target.closest && event.target.closest("tr.member[draggable=true]");
    const group = event.target.closest && event.target.closest(".tree-root[data-move-groups] .row[draggable=true]");
    const person = event.target.closest && event.target.closest("li.person[draggable=true]");
    const source = member || group || person;
    if (!source) return;
    const kind = member ? "member" : person ? "person" : "group";
    dragging = kind === "group"
      ? { kind, id: group.dataset.groupId, name: group.dataset.groupName, element: group }
      : { kind, id: source.dataset.userId, name: source.dataset.userName, element: source };
    source.classList.add("dragging");
    event.dataTransfer.effectAllowed = kind === "member" ? "copyMove" : kind === "person" ? "copy" : "move";
    event.dataTransfer.setData("text/plain", dragging.name);
  });

  document.addEventListener("dragend", () => {
    if (dragging) dragging.element.classList.remove("dragging");
    document.querySelectorAll(".drop-over").forEach((el) => el.classList.remove("drop-over", "adding"));
    dragging = null;
  });

  function dropTarget(event) {
    if (!dragging) return null;
    const row = event.target.closest && event.target.closest(".droppable");
    if (!row) return null;
    // Someone found in the people finder: onto the members list, or onto a group the caller runs.
    if (dragging.kind === "person") {
      return row.hasAttribute("data-add-here") || row.closest("[data-member-targets]") ? row : null;
    }
    const root = row.closest(".tree-root");
    if (!root) return null;
    if (dragging.kind === "member" && !root.hasAttribute("data-member-targets")) return null;
    if (dragging.kind === "group" && !root.hasAttribute("data-move-groups")) return null;
    if (dragging.kind === "member" && row.dataset.groupId === root.dataset.sourceGroup) return null;
    if (dragging.kind === "group" && row.dataset.groupId === dragging.id) return null;
    return row;
  }

  document.addEventListener("dragover", (event) => {
    const row = dropTarget(event);
    document.querySelectorAll(".drop-over").forEach((el) => { if (el !== row) el.classList.remove("drop-over", "adding"); });
    if (!row) return;
    event.preventDefault();
    const add = dragging.kind === "person" || (dragging.kind === "member" && adding(event));
    event.dataTransfer.dropEffect = add ? "copy" : "move";
    row.classList.add("drop-over");
    row.classList.toggle("adding", add);
  });

  document.addEventListener("drop", async (event) => {
    const row = dropTarget(event);
    if (!row) return;
    event.preventDefault();
    const what = dragging;
    row.classList.remove("drop-over", "adding");
    try {
      if (what.kind === "person") {
        const answer = await post(`/admin/groups/${row.dataset.groupId}/members/add`, { user_ids: [what.id], role: "member" });
        reloadWith(answer.message);
      } else if (what.kind === "group") {
        await post(`/admin/groups/${what.id}/move`, { parent_id: row.dataset.groupId });
        reloadWith(`Moved "${what.name}" under ${row.dataset.groupId ? '"' + row.dataset.groupName + '"' : "the top level"}.`);
      } else {
        const source = row.closest(".tree-root").dataset.sourceGroup;
        const mode = adding(event) ? "add" : "move";
        const answer = await post(`/admin/groups/${source}/members/${what.id}/move`, { to_group_id: row.dataset.groupId, mode });
        reloadWith(answer.message);
      }
    } catch (error) {
      toast(error.message, "error");
    }
  });

  // --- selection: select all, counts, buttons that need a selection ----------------------------
  function refreshSelection() {
    document.querySelectorAll("form[id]").forEach((form) => {
      const boxes = document.querySelectorAll(`input[type=checkbox][name=user_ids][form="${form.id}"]`);
      if (!boxes.length) return;
      const n = Array.from(boxes).filter((b) => b.checked).length;
      form.querySelectorAll("[data-selected-count]").forEach((el) => { el.textContent = `${n} selected`; });
      form.querySelectorAll("[data-needs-selection]").forEach((el) => { el.disabled = n === 0; });
    });
  }
  document.addEventListener("change", (event) => {
    const all = event.target.closest("[data-select-all]");
    if (all) {
      all.closest("table").querySelectorAll("tbody input[type=checkbox][name=user_ids]").forEach((b) => { b.checked = all.checked; });
    }
    refreshSelection();
  });
  refreshSelection();

  // --- confirmations ------------------------------------------------------------------------------
  document.addEventListener("submit", (event) => {
    const button = event.submitter;
    const ask = (button && button.dataset.confirm) || event.target.dataset.confirm;
    if (ask && !window.confirm(ask)) event.preventDefault();
  });

  // --- copy a secret ------------------------------------------------------------------------------
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const input = document.querySelector(button.dataset.copy);
    input.select();
    let copied = false;
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(input.value);
        copied = true;
      } catch (_) { /* refused: fall back below */ }
    }
    if (!copied) copied = document.execCommand("copy");
    button.textContent = copied ? "Copied" : "Select and copy";
  });

  // --- the "Add members" dialog -------------------------------------------------------------------
  document.addEventListener("click", (event) => {
    const opener = event.target.closest("[data-open-dialog]");
    if (opener) {
      const dialog = document.getElementById(opener.dataset.openDialog);
      dialog.showModal();
      const input = dialog.querySelector("input[type=search]");
      if (input) { input.focus(); input.dispatchEvent(new Event("input")); }
    }
    const closer = event.target.closest("[data-close-dialog]");
    if (closer) closer.closest("dialog").close();
  });

  const dialog = document.getElementById("add-members");
  if (dialog) {
    const groupId = dialog.dataset.groupId;
    const input = document.getElementById("member-search");
    const results = document.getElementById("member-results");
    const count = document.getElementById("picked-count");
    const addButton = document.getElementById("add-selected");
    const picked = new Map();
    let timer = null;
    let asked = 0;

    const refresh = () => {
      count.textContent = `${picked.size} selected`;
      addButton.disabled = picked.size === 0;
    };

    async function load() {
      const ticket = ++asked;
      const response = await fetch(`/admin/api/users?group_id=${encodeURIComponent(groupId)}&q=${encodeURIComponent(input.value)}`, {
        headers: { "Accept": "application/json", "X-Requested-With": "fetch" }, credentials: "same-origin",
      });
      if (ticket !== asked) return; // a newer search has been typed
      const data = await response.json();
      results.replaceChildren();
      if (!data.users || !data.users.length) {
        const li = document.createElement("li");
        li.className = "empty";
        li.textContent = "Nobody matches.";
        results.append(li);
        return;
      }
      for (const user of data.users) {
        const li = document.createElement("li");
        li.className = user.member ? "is-member" : "";
        const label = document.createElement("label");
        const box = document.createElement("input");
        box.type = "checkbox";
        box.value = user.id;
        box.disabled = user.member;
        box.checked = user.member || picked.has(user.id);
        box.addEventListener("change", () => {
          if (box.checked) picked.set(user.id, user.email); else picked.delete(user.id);
          refresh();
        });
        const text = document.createElement("span");
        text.innerHTML = "<strong></strong> <span class='muted small'></span>";
        text.querySelector("strong").textContent = user.name || user.email;
        text.querySelector(".muted").textContent = user.email + (user.member ? " · already a member" : "");
        label.append(box, text);
        li.append(label);
        results.append(li);
      }
    }

    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(load, 150); });
    addButton.addEventListener("click", async () => {
      addButton.disabled = true;
      try {
        const answer = await post(`/admin/groups/${groupId}/members/add`, {
          user_ids: Array.from(picked.keys()),
          role: document.getElementById("add-role").value,
        });
        reloadWith(answer.message);
      } catch (error) {
        toast(error.message, "error");
        refresh();
      }
    });
    refresh();
  }

  // --- the people finder: search the org, drag someone onto a group to add them ------------------
  const finder = document.getElementById("people-finder");
  if (finder) {
    const input = finder.querySelector("input[type=search]");
    const results = finder.querySelector("ul");
    let timer = null;
    let asked = 0;
    async function find() {
      const ticket = ++asked;
      const query = `group_id=${encodeURIComponent(finder.dataset.groupId)}&q=${encodeURIComponent(input.value)}`;
      const response = await fetch(`/admin/api/users?${query}`, {
        headers: { "Accept": "application/json", "X-Requested-With": "fetch" }, credentials: "same-origin",
      });
      if (ticket !== asked) return;
      const data = await response.json();
      results.replaceChildren();
      for (const user of data.users || []) {
        const li = document.createElement("li");
        li.className = "person" + (user.member ? " is-member" : "");
        li.draggable = true;
        li.dataset.userId = user.id;
        li.dataset.userName = user.name || user.email;
        li.innerHTML = "<span class='grip' aria-hidden='true'>⠿</span> <strong></strong> <span class='muted small'></span>";
        li.querySelector("strong").textContent = user.name || user.email;
        li.querySelector(".muted").textContent = user.email + (user.member ? " · in this group" : "");
        results.append(li);
      }
      if (!results.children.length) {
        const li = document.createElement("li");
        li.className = "empty";
        li.textContent = input.value ? "Nobody in the organization matches." : "Type a name or an email.";
        results.append(li);
      }
    }
    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(find, 150); });
  }

  const saved = sessionStorage.getItem("covey-toast");
  if (saved) {
    sessionStorage.removeItem("covey-toast");
    toast(saved);
  }
})();
