// The rule builder: show the trigger's settings and each action's own settings, hide the rest.
(function () {
  "use strict";
  function init() {
    var form = document.getElementById("rule-builder");
    if (!form) return;
    var params = JSON.parse(document.getElementById("action-params").textContent);
    var trigger = form.querySelector("[name=trigger]");
    function showTrigger() {
      form.querySelectorAll("[data-trigger-show]").forEach(function (el) {
        el.hidden = el.dataset.triggerShow.split(" ").indexOf(trigger.value) < 0;
      });
    }
    function showParams(row) {
      var type = row.querySelector("select[name$='-type']").value;
      var wanted = params[type] || [];
      row.querySelectorAll("[data-param]").forEach(function (el) {
        el.hidden = wanted.indexOf(el.dataset.param) < 0;
      });
    }
    trigger.addEventListener("change", showTrigger);
    showTrigger();
    form.querySelectorAll("[data-action-row]").forEach(function (row) {
      row.querySelector("select[name$='-type']").addEventListener("change", function () { showParams(row); });
      showParams(row);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
