// The top-bar search: close the dropdown on Escape or a click elsewhere; arrow keys move into it.
(() => {
  const box = document.getElementById("nav-search");
  if (!box) return;
  const input = box.querySelector("input[name=q]");
  const results = document.getElementById("nav-search-results");
  const close = () => results.replaceChildren();
  document.addEventListener("click", (event) => { if (!box.contains(event.target)) close(); });
  box.addEventListener("keydown", (event) => {
    const items = [...results.querySelectorAll("a")];
    const index = items.indexOf(document.activeElement);
    if (event.key === "Escape") { close(); input.focus(); }
    else if (event.key === "ArrowDown" && items.length) { event.preventDefault(); items[Math.min(index + 1, items.length - 1)].focus(); }
    else if (event.key === "ArrowUp" && items.length) { event.preventDefault(); if (index <= 0) input.focus(); else items[index - 1].focus(); }
  });
})();
