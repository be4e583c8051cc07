// Customer pages: the touchpoint form, comma-separated pickers, the referred-by picker.
(() => {
  // Choosing a kind puts the cursor in the note: click "Visit", type, Enter.
  // "click" (not "change") so it also works for the kind that is already chosen.
  // Arrow keys move along the kinds (and select as they go) without leaving them; Space, Enter or a
  // click on a kind then goes to the note.
  let arrowing = false;
  document.addEventListener("keydown", (event) => { arrowing = event.key.startsWith("Arrow"); });
  document.addEventListener("pointerdown", () => { arrowing = false; });
  document.addEventListener("click", (event) => {
    const radio = event.target.closest(".tp-form input[name=kind]");
    if (radio && !arrowing) radio.form.querySelector("[name=note]").focus();
  });

  // Comma-separated inputs with a <datalist>: suggest completions for the last name typed.
  const originals = new Map();
  document.addEventListener("input", (event) => {
    const input = event.target.closest("[data-names-input]");
    if (!input || !input.list) return;
    const list = input.list;
    if (!originals.has(list.id)) originals.set(list.id, [...list.options].map((o) => o.value));
    const parts = input.value.split(",");
    const done = parts.slice(0, -1).map((p) => p.trim()).filter(Boolean);
    const head = done.length ? done.join(", ") + ", " : "";
    const chosen = new Set(done.map((p) => p.toLowerCase()));
    list.replaceChildren(...originals.get(list.id)
      .filter((name) => !chosen.has(name.toLowerCase()))
      .map((name) => { const o = document.createElement("option"); o.value = head + name; return o; }));
  });

  // Picking a customer from a search dropdown (referred-by) fills a hidden input.
  document.addEventListener("click", (event) => {
    const pick = event.target.closest("[data-pick-id]");
    if (pick) {
      const hidden = document.getElementById(pick.dataset.pickFor);
      hidden.value = pick.dataset.pickId;
      document.getElementById("referred-label").textContent = pick.dataset.pickLabel;
      document.getElementById("referred-chosen").classList.remove("d-none");
      document.getElementById("referred-results").replaceChildren();
      document.getElementById("referred-search").value = "";
      return;
    }
    const clear = event.target.closest("[data-clear-pick]");
    if (clear) {
      document.getElementById(clear.dataset.clearPick).value = "";
      document.getElementById("referred-chosen").classList.add("d-none");
    }
  });
})();
