// The opportunity board: drag a card to another column (or pick its stage in the card's menu)
// and the deal moves through the server's service; the columns' counts and totals follow.
(function () {
  const board = document.querySelector("[data-board]");
  if (!board) return;
  const status = document.getElementById("board-status");
  let dragged = null;

  const say = (text) => { if (status) status.textContent = text; };

  function applyTotals(columns) {
    board.querySelectorAll("[data-column]").forEach((col) => {
      const row = columns[col.dataset.column] || { count: 0, total: "0", weighted: "0" };
      col.querySelector("[data-col-count]").textContent = row.count;
      col.querySelector("[data-col-total]").textContent = row.total;
      col.querySelector("[data-col-weighted]").textContent = row.weighted;
    });
  }

  function place(card, stage) {
    const list = board.querySelector(`[data-drop="${stage}"]`);
    if (!list || card.parentElement === list) return;
    list.insertBefore(card, list.firstElementChild);
  }

  async function move(card, stage) {
    const from = card.dataset.stage;
    if (stage === from) return;
    const origin = card.parentElement;
    const next = card.nextElementSibling;
    place(card, stage);
    const form = card.querySelector("form.board-move");
    const body = new FormData(form);
    body.set("stage", stage);
    const query = board.dataset.filterQuery ? `?${board.dataset.filterQuery}` : "";
    try {
      const response = await fetch(card.dataset.moveUrl + query, {
        method: "POST", body, headers: { Accept: "application/json" }, credentials: "same-origin",
      });
      const data = await response.json();
      if (!response.ok) throw new Error(data.error || "The deal was not moved.");
      card.dataset.stage = data.stage;
      card.querySelector("[data-move]").value = data.stage;
      applyTotals(data.columns);
      say(`${card.getAttribute("aria-label")} moved to ${data.stage_label}.`);
    } catch (error) {
      origin.insertBefore(card, next);
      card.querySelector("[data-move]").value = from;
      say(error.message);
      window.alert(error.message);
    }
  }

  board.addEventListener("dragstart", (event) => {
    const card = event.target.closest("[data-card]");
    if (!card) return;
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.id);
  });
  board.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    board.querySelectorAll(".drop-target").forEach((el) => el.classList.remove("drop-target"));
  });
  board.addEventListener("dragover", (event) => {
    const zone = event.target.closest("[data-drop]");
    if (!zone || !dragged) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    board.querySelectorAll(".drop-target").forEach((el) => el !== zone && el.classList.remove("drop-target"));
    zone.classList.add("drop-target");
  });
  board.addEventListener("dragleave", (event) => {
    const zone = event.target.closest("[data-drop]");
    if (zone && !zone.contains(event.relatedTarget)) zone.classList.remove("drop-target");
  });
  board.addEventListener("drop", (event) => {
    const zone = event.target.closest("[data-drop]");
    if (!zone || !dragged) return;
    event.preventDefault();
    zone.classList.remove("drop-target");
    move(dragged, zone.dataset.drop);
  });
  // Keyboard and touch: the card's stage menu moves it the same way.
  board.addEventListener("change", (event) => {
    const select = event.target.closest("[data-move]");
    if (!select) return;
    move(select.closest("[data-card]"), select.value);
  });
})();
