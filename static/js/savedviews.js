// Saved views: show or hide a list's columns, remember which ones in the view being saved.
(function () {
  const menu = document.querySelector("[data-saved-views]");
  if (!menu) return;
  const hidden = new Set((menu.dataset.hiddenColumns || "").split("|").filter(Boolean));
  const toggles = menu.querySelector("[data-column-toggles]");
  const field = menu.querySelector('[data-save-view] input[name="hidden_columns"]');

  function headers() {
    const row = document.querySelector("#list-results table thead tr");
    return row ? Array.from(row.children) : [];
  }
  function apply() {
    const ths = headers();
    const table = document.querySelector("#list-results table");
    if (!table) return;
    ths.forEach((th, i) => {
      const name = th.textContent.trim();
      const off = name && hidden.has(name);
      table.querySelectorAll(`tr > :nth-child(${i + 1})`).forEach((cell) => { cell.hidden = off; });
    });
    field.value = Array.from(hidden).join("|");
  }
  function build() {
    toggles.textContent = "";
    headers().forEach((th) => {
      const name = th.textContent.trim();
      if (!name || th.classList.contains("col-tick")) return;
      const label = document.createElement("label");
      label.className = "form-check";
      const box = document.createElement("input");
      box.type = "checkbox"; box.className = "form-check-input"; box.checked = !hidden.has(name);
      box.addEventListener("change", () => { if (box.checked) hidden.delete(name); else hidden.add(name); apply(); });
      label.append(box, " ", name);
      toggles.appendChild(label);
    });
  }
  // The list's filters change in place (htmx pushes them to the URL): save what is shown now.
  const form = menu.querySelector("[data-save-view]");
  form.addEventListener("submit", () => {
    form.querySelector('input[name="query"]').value = window.location.search.replace(/^\?/, "");
  });
  build();
  apply();
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.target.id === "list-results") apply();
  });
})();
