// Bulk toolbar: show the fields the chosen action needs, and send the ticked rows along.
(function () {
  function setup(form) {
    if (form.dataset.bulkReady) return;
    form.dataset.bulkReady = "1";
    const action = form.querySelector("[data-bulk-action]");
    const sync = () => {
      const option = action.selectedOptions[0];
      const wanted = (option ? option.dataset.fields : "").split(" ").filter(Boolean);
      form.querySelectorAll("[data-bulk-field]").forEach((el) => { el.hidden = !wanted.includes(el.dataset.bulkField); });
    };
    action.addEventListener("change", sync);
    sync();
    form.addEventListener("submit", () => {
      form.querySelectorAll("input[data-ticked]").forEach((el) => el.remove());
      const scope = form.querySelector("[name=scope]").value;
      if (scope !== "selected") return;
      document.querySelectorAll('#list-results input[name="ids"]:checked').forEach((box) => {
        if (box.form === form) return; // already sent by the browser
        const hidden = document.createElement("input");
        hidden.type = "hidden"; hidden.name = "ids"; hidden.value = box.value; hidden.dataset.ticked = "1";
        form.appendChild(hidden);
      });
    });
    const exportLink = form.querySelector("[data-bulk-export]");
    if (exportLink) {
      exportLink.addEventListener("click", () => {
        const ids = Array.from(document.querySelectorAll('#list-results input[name="ids"]:checked')).map((b) => b.value);
        const url = new URL(exportLink.href, window.location.href);
        if (ids.length) url.searchParams.set("ids", ids.join(",")); else url.searchParams.delete("ids");
        exportLink.href = url.toString();
      });
    }
  }
  const scan = () => document.querySelectorAll("[data-bulk-form]").forEach(setup);
  document.addEventListener("DOMContentLoaded", scan);
  document.addEventListener("htmx:afterSwap", scan);
})();
