// The access review, keyboard-fast: C / H / L answer the focused row, arrows move between rows,
// typing a new job title selects "Changed".
(function () {
  "use strict";
  var form = document.getElementById("access-review");
  if (!form) return;
  var rows = Array.prototype.slice.call(form.querySelectorAll(".review-row"));
  var keys = { c: "correct", h: "changed", l: "left" };
  function pick(row, value) {
    var input = row.querySelector('input[type=radio][value="' + value + '"]');
    if (input) input.checked = true;
    if (value === "changed") row.querySelector(".review-title").focus();
  }
  rows.forEach(function (row, index) {
    row.addEventListener("keydown", function (event) {
      if (event.target.classList.contains("review-title") && event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
      var value = keys[event.key.toLowerCase()];
      if (value && !event.ctrlKey && !event.metaKey && !event.altKey) {
        event.preventDefault();
        pick(row, value);
      } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        var next = rows[index + (event.key === "ArrowDown" ? 1 : -1)];
        if (next) {
          event.preventDefault();
          next.focus();
        }
      }
    });
    row.querySelector(".review-title").addEventListener("input", function (event) {
      if (event.target.value.trim()) pick(row, "changed");
    });
  });
})();
