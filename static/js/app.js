// Small behaviours shared by every page. No inline scripts: the CSP allows only 'self'.
document.addEventListener("DOMContentLoaded", () => {
  // <select data-autosubmit> submits its form when changed (filter bars).
  document.querySelectorAll("[data-autosubmit]").forEach((el) => {
    el.addEventListener("change", () => el.form && el.form.requestSubmit());
  });
  // <button data-confirm="..."> asks before submitting.
  document.querySelectorAll("[data-confirm]").forEach((el) => {
    el.addEventListener("click", (event) => {
      if (!window.confirm(el.dataset.confirm)) event.preventDefault();
    });
  });
});
