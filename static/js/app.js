// Small behaviours shared by every page. No inline scripts: the CSP allows only 'self'.
function initBehaviours(root) {
  // <select data-autosubmit> submits its form when changed (filter bars).
  root.querySelectorAll("[data-autosubmit]").forEach((el) => {
    el.addEventListener("change", () => el.form && el.form.requestSubmit());
  });
  // <button data-confirm="..."> asks before submitting.
  root.querySelectorAll("[data-confirm]").forEach((el) => {
    el.addEventListener("click", (event) => {
      if (!window.confirm(el.dataset.confirm)) event.preventDefault();
    });
  });
  // <button data-copy="#input"> copies that input's value (a secret shown once).
  root.querySelectorAll("[data-copy]").forEach((el) => {
    el.addEventListener("click", () => {
      const source = document.querySelector(el.dataset.copy);
      if (source && navigator.clipboard) navigator.clipboard.writeText(source.value);
      if (source) source.select();
    });
  });
  // An opportunity's stage select fills in the stage's usual probability.
  root.querySelectorAll("select[data-probability-defaults]").forEach((el) => {
    const defaults = JSON.parse(el.dataset.probabilityDefaults);
    el.addEventListener("change", () => {
      const probability = el.form && el.form.querySelector("[name=probability]");
      if (probability && el.value in defaults) probability.value = defaults[el.value];
    });
  });
}

document.addEventListener("DOMContentLoaded", () => initBehaviours(document));
// Content swapped in by htmx gets the same behaviours.
document.addEventListener("htmx:load", (event) => {
  if (event.target !== document.body) initBehaviours(event.target);
});
